"""The price-before-steps check on what room audio makes of a visit: plans that are not inspections, bills that are
not financing, a price turn still being spoken."""

from __future__ import annotations

from edge.coach.steps import STEP_CUES
from tests.edge.test_coach import Script, coach, replay, types

MEASURED = "I measured every room for a Manual J."
WARRANTY = "Ten years parts and labor warranty on every option."
FINANCING = "And financing at zero percent for 18 months."
PRICE = "So the investment for the better option is $13,900."


def skipped_steps(script: Script) -> list[str]:
    fired = replay(script, coach())
    assert types(fired) in ([], ["step_skipped_before_price"])
    return fired[0].decision.candidate.reason.removeprefix("price before ").split(", ") if fired else []


def test_a_plan_names_an_inspection_and_walking_off_to_do_it_covers_it() -> None:
    plan = "So, I'll ask you a few questions, take a look, and then we'll sit down and go over options."
    never_went = Script()
    never_went.say("rep", plan)
    for line in (MEASURED, WARRANTY, FINANCING, PRICE):
        never_went.say("rep", line)
    assert skipped_steps(never_went) == ["home_inspection"]
    went = Script()
    went.say("rep", plan)
    went.say("cust", "Sure, it's through there.")
    went.say("rep", "Okay, so the coil is rusted through and the flue is undersized.", gap_s=9.0)  # back from looking
    for line in (MEASURED, WARRANTY, FINANCING, PRICE):
        went.say("rep", line)
    assert skipped_steps(went) == []
    # A silence just before the price is the quote being written up, not an inspection.
    wrote_up = Script()
    wrote_up.say("rep", plan)
    for line in (MEASURED, WARRANTY, FINANCING):
        wrote_up.say("rep", line)
    wrote_up.say("rep", PRICE, gap_s=9.0)
    assert skipped_steps(wrote_up) == ["home_inspection"]


def test_the_customers_monthly_bill_is_no_financing_and_a_loan_rate_is() -> None:
    financing = STEP_CUES["financing_options"]
    assert not financing.covered_by("Over the last 12 months you used about 11,000 kilowatt hours.", by_rep=True)
    assert not financing.covered_by("Your bills averaged about $210 a month.", by_rep=True)
    assert financing.covered_by("Cash, or about $159 a month on the loan.", by_rep=True)
    assert financing.covered_by("A 25 year low at 6.49%.", by_rep=True)  # "loan" misheard; the rate is still said
    assert financing.covered_by("If you want the upgrade, there's twelve months with no interest.", by_rep=True)
    # A price per month is no contract term; the agreement's months are.
    contract = STEP_CUES["contract_terms"]
    assert not contract.covered_by("The first visit is one eighty-nine, then fifty-nine a month.", by_rep=True)
    assert contract.covered_by("It's service every three months on a twelve-month agreement.", by_rep=True)
    assert STEP_CUES["identify_cause"].covered_by("Okay, Ray. So you've got house mice.", by_rep=True)
    # Only a plan sentence is discounted: the same words said as doing it cover the inspection.
    inspection = STEP_CUES["home_inspection"]
    assert not inspection.covered_by("Here's the plan: a few questions, then I take a look.", by_rep=True)
    assert inspection.announced_by("Here's the plan: a few questions, then I take a look.", by_rep=True)
    assert inspection.covered_by("Okay. Let's go take a look at the furnace.", by_rep=True)


def test_a_price_turn_still_being_spoken_is_heard_out() -> None:
    s = Script()
    s.say("rep", "Let me take a look at the furnace in the basement.")
    for line in (MEASURED, WARRANTY, PRICE):
        s.say("rep", line)
    # Room audio: the piece with the monthly payment begins 2 s after the price and runs 4 s, ending after the
    # 4 s the check waits for another piece; the VAD hears it going on, so the check waits for its words.
    s.say("rep", "On the loan that's about $159 a month, with zero down, over twelve years.", gap_s=2.0)
    s.say("cust", "Okay.")
    assert skipped_steps(s) == []
