"""How each rubric step shows in what is said, for the live check "was it covered before the price?".

Keyed by step id (the contract shared with the rubrics, ``rubric_cache.starter``). A step with no
cue here cannot be checked live and is left to the post-call deep dive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from edge.coach.cues import SENTENCE_BREAK
from rubric_cache.starter import TRADES

# The visit's plan, laid out at the door ("So, I'll ask you a few questions, take a look, and then we'll sit
# down"): it names the inspection, it does not do it (dev pest-05 priced without ever looking).
_PLAN = r"\b(and then|then (i|we)|here's (how|what|the plan)|the plan|(a|few) questions)\b"
# The customer's own bill, read back in the review ("you averaged about $210 a month", "over the last 12
# months"): a monthly figure that is no payment plan (dev solar-08 priced with financing never offered).
_BILL = r"\b(bills?|usage|used|use|averag\w*|kilowatt|kwh|(last|past) (\d+|twelve) months)\b"


@dataclass(frozen=True)
class StepCue:
    pattern: str
    anyone: bool = False
    """The customer saying it counts too (e.g. handing over the bills)."""
    unless: str | None = None
    """A sentence this also matches does not cover the step: it speaks of something else."""
    away: bool = False
    """Done away from the table (an inspection): a sentence ``unless`` excludes still announces it, and the
    talk then stopping long enough to go and do it covers it. The rep walks off to the crawlspace and comes
    back talking about what they saw, in words no cue can list; on the dev split every visit that inspected
    has a pause of 5 s or more in its talk before the price, and the one that never looked has none."""

    def covered_by(self, text: str, by_rep: bool) -> bool:
        return any(not self._excluded(s) for s in self._naming(text, by_rep))

    def announced_by(self, text: str, by_rep: bool) -> bool:
        """Named as the plan (for an ``away`` step: covered once the talk pauses)."""
        return self.away and any(self._excluded(s) for s in self._naming(text, by_rep))

    def _naming(self, text: str, by_rep: bool) -> list[str]:
        if not (by_rep or self.anyone):
            return []
        return [s for s in SENTENCE_BREAK.split(text.lower()) if re.search(self.pattern, s)]

    def _excluded(self, sentence: str) -> bool:
        return self.unless is not None and re.search(self.unless, sentence) is not None


STEP_CUES: dict[str, StepCue] = {
    "home_inspection": StepCue(
        r"\b(basement|attic|crawl ?space|furnace|air handler|ductwork|let me (go )?(look|check|see)|"
        r"head (down|up)|take a look|show me)\b",
        unless=_PLAN,
        away=True,
    ),
    "load_calculation": StepCue(
        # BTUs as a need, not as read off the old unit's nameplate ("80,000 BTU Goodman furnace").
        r"\b(manual j|load calc|measure|measured|measuring|square (feet|footage)|sizing|"
        r"sized|oversized|undersized|how big|how many btus?|needs? (about |around |only )?[\d,]+ btus?)\b"
    ),
    "warranty": StepCue(
        r"\b(warrant(y|ies)|years? (on |of )?(parts|labor|labour|the (compressor|equipment|install))|"
        r"(parts|labor) (warranty|coverage)|covered for \w+ years)\b"
    ),
    "financing_options": StepCue(
        r"\b(financ\w*|a month|per month|monthly|payment plan|same[- ]as[- ]cash|"
        r"\d+ months|(six|twelve|eighteen|twenty-four|thirty-six|forty-eight|sixty) months|no interest|"
        r"interest[- ]free|loan|apr|percent interest|zero down|zero percent|cash, )\b|\b0 ?%|"
        # A loan's rate, however the recogniser heard "loan" ("25 year low at 6.49%", dev solar-01 kitchen).
        r"\b\d{1,2}\.\d{1,2} ?(%|percent)",
        unless=_BILL,
    ),
    "roof_inspection": StepCue(
        r"\b(get up there|up on the roof|on the roof|ladder|attic|photos?|pictures?|shingles)\b",
        unless=_PLAN,
        away=True,
    ),
    "damage_review": StepCue(
        r"\b(photos?|pictures?|hail (hits|damage|marks)|damage|bruis\w*|granules?|"
        r"see (this|that|these|here))\b"
    ),
    "utility_bill_review": StepCue(
        r"\b(your (bills?|usage)|(electric|utility|power) bills?|kilowatt[- ]hours?|kwh|"
        r"(last|past) (year|twelve months|12 months) of)\b"
    ),
    "roof_shade_assessment": StepCue(r"\b(shade|shading|south|orientation|faces|azimuth|tree|roof is|roof's)\b"),
    "incentives": StepCue(r"\b(tax credit|credit|incentives?|rebates?|itc|net metering|srec)\b"),
    # Looking, not naming a place: treatment talk is full of "outside" and "the foundation".
    "property_inspection": StepCue(
        r"\b(take a look|let me (go )?(look|check|see)|basement|attic|crawl ?space|walk around|"
        r"look (around|outside|under|behind)|check (under|behind|outside|around)|(i|we) (looked|checked|found)|"
        r"go (down|under|outside|around)|head (out|down|outside|around))\b",
        unless=_PLAN,
        away=True,
    ),
    "identify_cause": StepCue(
        r"\b(because|that's why|what you've got|these are|those are|it's a|they're coming|"
        r"coming in|getting in|entry point|"
        # Naming the pest is identifying it: "So you've got house mice." (dev pest-08)
        r"you've got (\w+ )?(mice|rats|ants|termites|roaches|cockroaches|bees|wasps|hornets|ticks|fleas|"
        r"scorpions|squirrels|bats|spiders|silverfish|bed ?bugs|moles|voles))\b"
    ),
    "contract_terms": StepCue(
        # "Months", not "a month": "$59 a month" is a price, not the agreement's term (dev pest-09).
        r"\b(agreement|contract|months|quarterly|every (three|3) months|year-round|term|"
        r"cancel|annual)\b"
    ),
    "guarantee": StepCue(
        r"\b(guarantee\w*|re-?service|come back (out )?(for )?free|as many times as it takes|"
        r"free of charge|at no (extra )?(cost|charge)|for free|(we|we'll) (repair|fix) (it|the damage))\b"
    ),
}


def before_price_cues(trade: str) -> dict[str, StepCue]:
    """The trade's steps required before price that can be checked live, in rubric order."""
    return cues_for(s.id for s in TRADES.get(trade, ()) if s.before_price)


def cues_for(step_ids: Iterable[str]) -> dict[str, StepCue]:
    """The cues of those steps that have one, in the order given. A tenant's own steps (ids the cue table
    does not know) are left to the post-call deep dive."""
    return {i: STEP_CUES[i] for i in step_ids if i in STEP_CUES}
