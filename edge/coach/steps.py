"""How each rubric step shows in what is said, for the live check "was it covered before the price?".

Keyed by step id (the contract shared with the rubrics, ``rubric_cache.starter``). A step with no
cue here cannot be checked live and is left to the post-call deep dive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rubric_cache.starter import TRADES


@dataclass(frozen=True)
class StepCue:
    pattern: str
    anyone: bool = False
    """The customer saying it counts too (e.g. handing over the bills)."""

    def covered_by(self, text: str, by_rep: bool) -> bool:
        return (by_rep or self.anyone) and re.search(self.pattern, text.lower()) is not None


STEP_CUES: dict[str, StepCue] = {
    "home_inspection": StepCue(
        r"\b(basement|attic|crawl ?space|furnace|air handler|ductwork|let me (go )?(look|check|see)|"
        r"head (down|up)|take a look|show me)\b"
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
        r"\d+ months|loan|apr|percent interest|zero down|zero percent|cash, )\b|\b0 ?%"
    ),
    "roof_inspection": StepCue(
        r"\b(get up there|up on the roof|on the roof|ladder|attic|photos?|pictures?|shingles)\b"
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
        r"go (down|under|outside|around)|head (out|down|outside|around))\b"
    ),
    "identify_cause": StepCue(
        r"\b(because|that's why|what you've got|these are|those are|it's a|they're coming|"
        r"coming in|getting in|entry point)\b"
    ),
    "contract_terms": StepCue(
        r"\b(agreement|contract|months?|quarterly|every (three|3) months|year-round|term|"
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
