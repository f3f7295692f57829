"""The semantic stage's cue phrases: the indirect ways customers say a moment, and the near misses they must leave.

Cue only (no embedder): a cue alone scores 0.5, which proposes the candidate (the LLM confirms deferrals
and competitor mentions; a buying signal fires from 0.45).
"""

from __future__ import annotations

import pytest

from edge.coach.semantic import SemanticStage
from edge.coach.taxonomy import MomentType

COMPETITOR, DEFERRAL, BUYING = (
    MomentType.COMPETITOR_MENTIONED,
    MomentType.DECISION_MAKER_OBJECTION,
    MomentType.BUYING_SIGNAL,
)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (COMPETITOR, "A fella from Brightline was out in April. Had it about the same."),
        (COMPETITOR, "The outfit that came by in the spring had it at nineteen."),
        (COMPETITOR, "Their man came out Monday and wrote a number on his card."),
        (COMPETITOR, "Some company called Apex, I think, off a website."),
        (COMPETITOR, "Their manager phoned and gave us a price over the phone."),
        (COMPETITOR, "My nephew could put one in on a weekend for a lot less than you would."),
        (DEFERRAL, "The house is in both our names, so he'd have to see it before I sign."),
        (DEFERRAL, "We won't do anything this size without Kevin looking it over."),
        (DEFERRAL, "Our daughter does all our money things, she's in Denver."),
        (BUYING, "If we did the bigger one, who handles the permit?"),
        (BUYING, "I'd have to clear out the garage before your crew comes, right?"),
        (BUYING, "Your guys would have to come through the side gate, wouldn't they?"),
    ],
)
def test_an_indirect_phrasing_is_cued(moment: MomentType, text: str) -> None:
    assert SemanticStage(None).score(text)[moment].cue


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (COMPETITOR, "The guy from the gas company came out to check the meter."),
        (COMPETITOR, "We had a guy out a few years ago for the furnace."),
        (COMPETITOR, "That's less than I thought it would be."),
        (DEFERRAL, "The inspector would have to see the attic first."),
        (DEFERRAL, "My husband thinks the roof has a few years left."),
        (BUYING, "If we did it ourselves, what would that cost?"),
        (BUYING, "If we did this ourselves, could we save much?"),
        (BUYING, "Do your guys wear masks when they spray?"),
    ],
)
def test_a_near_miss_is_not_cued(moment: MomentType, text: str) -> None:
    assert not SemanticStage(None).score(text)[moment].cue
