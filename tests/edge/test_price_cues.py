"""``states_price``: a job's price as Whisper writes it (digits, often without the dollar sign) or as people say it;
``echoes_price``: a customer repeating one back."""

from __future__ import annotations

import pytest

from edge.coach.cues import echoes_price, states_price


@pytest.mark.parametrize(
    "text",
    [
        "That comes to 9,850 installed.",
        "So the whole system comes to $14,200 installed.",
        "The single stage is 8,900.",
        "It comes to fourteen thousand two hundred.",
        "It's dollar 425 to start.",
        "The first visit, with all the sealing, is one eighty-nine, and after that it's fifty-nine a month.",
        "It's two twenty-five to start.",
        "So, the first visit with all the ceiling under stations is 189.",
        "So it's twelve thousand eight hundred fifty, and there's a rebate too.",
        "After the federal credit, you're at twenty-two thousand.",
        "It's $14,200, and there's a $2,000 rebate on this one.",
        "So the installation of the stations and the first year of monitoring is 1150.",  # no comma (kitchen)
    ],
)
def test_a_price_is_read(text: str) -> None:
    assert states_price(text)


@pytest.mark.parametrize(
    "text",
    [
        "That's 4,000 installs since 2011.",
        "That's 11,000 kilowatt hours a year.",
        "We repair it, up to $100,000.",
        "So you paid about $1,300 for power last year.",
        "So the design is twenty-one panels, about eight and a half kilowatts.",
        "The unit is 22 years old, and it's 30 minutes to the supply house.",
        "That should cover 95% of what you use.",
        # Money back, not the job's price (dev hvac-12).
        "And the unit qualifies for the federal credit, that's up to two thousand back, and the utility has a "
        "rebate, I think it's five hundred right now, could be seven-fifty.",
        "There's a $2,000 rebate on this one.",
        "You get fifteen hundred off if you sign today.",
        "The roof was redone, it's 2018 shingles up there.",
        "Because at 9000 something's getting left out.",  # another outfit's quote
        "The house is 1950 square feet.",
    ],
)
def test_what_is_no_price_is_not(text: str) -> None:
    assert not states_price(text)


@pytest.mark.parametrize(
    ("text", "echoed"),
    [
        ("21,000. I was hoping for about half that, honestly.", True),
        ("Hoo. Twenty-one thousand. I was hoping for about half that.", True),
        ("1850", True),
        ("Two thousand three hundred? For one room?", True),
        ("Two thousand three. She's got the memory.", False),  # a year said aloud
        ("2014 was the last time anyone looked at it.", False),
        ("11,000 kilowatt hours, give or take.", False),
        ("Twenty-two years, I think.", False),
        ("We paid 9,000 for the last one.", False),  # an amount, but not opening the turn
    ],
)
def test_a_turn_opening_on_an_amount_of_thousands_echoes_a_price(text: str, echoed: bool) -> None:
    assert echoes_price(text) == echoed
