"""The live coach's fixed taxonomy of moments: what each means, and how a labelled one is scored.

The same definitions guide the people writing the evaluation corpus and the detectors, so a
label and a nudge mean the same thing. ``hit_window_s`` is how long after the end of the
labelled utterance a nudge still counts as catching the moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MomentType(StrEnum):
    REP_MONOLOGUE = "rep_monologue"
    PRICE_OBJECTION_UNADDRESSED = "price_objection_unaddressed"
    QUESTION_UNANSWERED = "question_unanswered"
    STEP_SKIPPED_BEFORE_PRICE = "step_skipped_before_price"
    TALK_RATIO_HIGH = "talk_ratio_high"
    DECISION_MAKER_OBJECTION = "decision_maker_objection"
    COMPETITOR_MENTIONED = "competitor_mentioned"
    BUYING_SIGNAL = "buying_signal"
    REP_INTERRUPTING = "rep_interrupting"
    NO_NEXT_STEP = "no_next_step"


@dataclass(frozen=True)
class MomentDefinition:
    type: MomentType
    definition: str
    label_at: str
    """Which utterance a labeller marks: where the moment becomes detectable."""
    near_miss: str
    """What looks similar but must not fire."""
    hit_window_s: float


TAXONOMY: dict[MomentType, MomentDefinition] = {
    d.type: d
    for d in (
        MomentDefinition(
            MomentType.REP_MONOLOGUE,
            "The rep holds the floor for about 150 words or more over consecutive rep utterances (only "
            "backchannels from others) without asking the customer anything, and the customer did not ask "
            "for a long explanation. 150 words is about 60 s at a typical pace; reps who talk fast get "
            "there sooner (48-81 s in the rendered corpus), so the measure is words, not seconds.",
            "the rep utterance during which the run passes about 150 words",
            "a long answer the customer explicitly asked for; a long turn broken by a real question",
            15.0,
        ),
        MomentDefinition(
            MomentType.PRICE_OBJECTION_UNADDRESSED,
            "The customer objects to the price or cost and the rep's following turns (about 20 s) neither "
            "acknowledge nor address it: they keep pitching or change the subject.",
            "the customer's objection",
            "a neutral price question ('what does that run?'); an objection the rep addresses at once",
            30.0,
        ),
        MomentDefinition(
            MomentType.QUESTION_UNANSWERED,
            "The customer asks the rep a direct question and the rep's next turns do not answer it.",
            "the customer's question",
            "a rhetorical question; a question the rep answers, even briefly or a little later",
            30.0,
        ),
        MomentDefinition(
            MomentType.STEP_SKIPPED_BEFORE_PRICE,
            "The rep states the price before covering a rubric step the tenant requires before price "
            "(e.g. warranty, inspection walk, financing options).",
            "the rep utterance that first states the price",
            "the price stated after every required step; a customer asking for a ballpark early and the "
            "rep declining to give one",
            15.0,
        ),
        MomentDefinition(
            MomentType.TALK_RATIO_HIGH,
            "Over the last 3 minutes the rep spoke more than 75 % of the talk time: the customer gives "
            "only short replies.",
            "the utterance that ends the rep-dominated 3-minute stretch",
            "a rep-heavy stretch shorter than 3 minutes; a stretch where the customer asked to be walked "
            "through something",
            30.0,
        ),
        MomentDefinition(
            MomentType.DECISION_MAKER_OBJECTION,
            "The customer defers the decision to someone who is not in the room ('I need to talk to my "
            "wife', 'my landlord has to sign off').",
            "the customer's deferral",
            "the spouse is present and speaks for themselves; a person mentioned without deferring",
            20.0,
        ),
        MomentDefinition(
            MomentType.COMPETITOR_MENTIONED,
            "The customer brings up another company's quote, offer or visit.",
            "the customer's mention",
            "a brand of equipment the rep also installs; a past service visit with no comparison",
            20.0,
        ),
        MomentDefinition(
            MomentType.BUYING_SIGNAL,
            "The customer signals readiness to buy ('how soon could you start?', 'what do we need to do "
            "to get on the schedule?'): the rep should ask for the close.",
            "the customer's signal",
            "early curiosity about timelines during discovery ('how long do these usually last?')",
            20.0,
        ),
        MomentDefinition(
            MomentType.REP_INTERRUPTING,
            "The rep cuts the customer off mid-sentence for the second time within about 2 minutes.",
            "the rep's second interrupting utterance",
            "a single interruption; backchannels ('mm-hm') that overlap the customer",
            15.0,
        ),
        MomentDefinition(
            MomentType.NO_NEXT_STEP,
            "The visit is winding down and no concrete next step (a date, a follow-up call, paperwork) has "
            "been agreed.",
            "the rep utterance that lets the visit end without one",
            "a visit that ends with a scheduled follow-up or a signed agreement",
            30.0,
        ),
    )
}
