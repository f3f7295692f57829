"""The live coach's fixed taxonomy of moments: what each means, how a labelled one is scored, and how
the coach finds it.

The same definitions guide the people writing the evaluation corpus and the detectors, so a
label and a nudge mean the same thing. ``hit_window_s`` is how long after the end of the
labelled utterance a nudge still counts as catching the moment (``lead_s``: how long before its
start). The examples and counter-examples are written by hand (none is taken from the corpus): the
semantic stage uses them as exemplars and the LLM's few-shot prompt quotes them.
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


class Detector(StrEnum):
    """Which part of the coach finds a moment type (``edge/coach/detectors.py``)."""

    MONOLOGUE = "monologue"
    """Words in the rep's current run of the floor, questions and backchannels taken into account."""
    TALK_RATIO = "talk_ratio"
    """The rep's share of talk time over a sliding window."""
    INTERRUPTIONS = "interruptions"
    """Rep turns that cut a customer off mid-sentence, counted over a sliding window."""
    UNADDRESSED = "unaddressed"
    """A customer utterance of the type (found by the semantic stage), then the rep's next turns checked
    for a response before a deadline."""
    PRICE_BEFORE_STEPS = "price_before_steps"
    """The rep's first price statement, checked against the rubric steps required before price."""
    SEMANTIC = "semantic"
    """The semantic stage alone: nearest exemplars, confirmed by the local LLM."""
    WIND_DOWN = "wind_down"
    """The rep closing the visit, checked for an agreed next step."""


NUDGE_WAIT_S = 1.2
"""The longest a nudge waits for the rep to pause: a nudge is due within 2 s of becoming decidable (the rep's
working-memory cycle), and the pipeline takes up to ~0.8 s of that. Waits of 8-10 s put the dev split's
unanswered-objection and -question nudges 2.4-8.2 s late in text replay."""


@dataclass(frozen=True)
class MomentDefinition:
    type: MomentType
    definition: str
    label_at: str
    """Which utterance a labeller marks: where the moment becomes detectable."""
    near_miss: str
    """What looks similar but must not fire."""
    hit_window_s: float
    detector: Detector
    pattern: str
    """Name of the haptic pattern the watch plays (``haptics``)."""
    examples: tuple[str, ...] = ()
    """Utterances that are the moment (for utterance-level types: what the speaker says)."""
    counter_examples: tuple[str, ...] = ()
    """Utterances that look like it and are not."""
    rubric_step: str | None = None
    """The rubric step it relates to, if any (a step id of the tenant's rubric)."""
    threshold: float = 0.5
    """Confidence (0-1) a candidate needs to become a nudge."""
    cooldown_s: float = 120.0
    """No second nudge of this type within this many seconds of audio."""
    lead_s: float = 0.0
    """How long before the labelled utterance starts a nudge still catches the moment: for a state measured
    over minutes, which a label can place only around a turn (dev roofing-08: the rep's share passed 75 % as
    the turn before the labelled one ended, 0.3 s before it began), and for a run of about 150 words, which
    the recogniser's words can pass a sentence early (dev solar-02 kitchen: as the piece before the labelled
    one ended, 0.2 s before it began)."""
    can_wait_s: float = 0.0
    """How long a nudge may wait for the rep to finish a sentence (0: it is only useful at once); at most
    ``NUDGE_WAIT_S``."""
    llm_confirms: bool = False
    """Candidates go to the local LLM, and without its yes (no model, too slow) need a higher confidence.
    Set where the LLM earns it on the dev split (Qwen2.5-Coder 1.5B, the one on the registries; its odds of
    the label against "none", ``LocalLlm.choose``): every real decision-maker deferral and competitor mention
    the fast stage proposed got 0.68 or more, most of the others far less. For the other types the odds of
    real and not-real candidates overlapped (unanswered questions: real 0.03-0.28, answered 0.02-0.32; buying
    signals 0.25-0.95 both), so those rest on the fast stages."""


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
            detector=Detector.MONOLOGUE,
            pattern="pause_and_ask",
            examples=(
                "And the other thing about our crews is they're all employees, and they've been with us for years, "
                "and we back every install with our own guarantee on top of the manufacturer's, and ...",
            ),
            counter_examples=(
                "Customer: 'Walk me through how net metering works.' Rep: a long, requested explanation.",
            ),
            threshold=0.5,
            cooldown_s=180.0,
            lead_s=5.0,
        ),
        MomentDefinition(
            MomentType.PRICE_OBJECTION_UNADDRESSED,
            "The customer objects to the price or cost and the rep's following turns (about 20 s) neither "
            "acknowledge nor address it: they keep pitching or change the subject.",
            "the customer's objection",
            "a neutral price question ('what does that run?'); an objection the rep addresses at once",
            30.0,
            detector=Detector.UNADDRESSED,
            pattern="acknowledge",
            examples=(
                "Wow. That's a lot more than we were expecting to spend.",
                "That's way over our budget, honestly.",
                "Eleven thousand? We can't swing that right now.",
                "Hm, that's pretty steep for what it is.",
                "That seems really expensive compared to what I thought.",
                "I don't know, that's a lot of money for us.",
            ),
            counter_examples=(
                "So what does something like this usually cost?",
                "Okay, and how much is the monthly payment on that?",
                "Is that price including the installation?",
                "The price is fine, I just want to know when you can start.",
            ),
            rubric_step=None,
            threshold=0.6,
            cooldown_s=120.0,
            can_wait_s=NUDGE_WAIT_S,
        ),
        MomentDefinition(
            MomentType.QUESTION_UNANSWERED,
            "The customer asks the rep a direct question and the rep's next turns do not answer it.",
            "the customer's question",
            "a rhetorical question; a question the rep answers, even briefly or a little later",
            30.0,
            detector=Detector.UNADDRESSED,
            pattern="answer",
            examples=(
                "Do you guys also clean out the dryer vents?",
                "Does the warranty cover the labor too?",
                "How long does the install take?",
            ),
            counter_examples=(
                "Rhetorical: 'Who wants to sleep in an 80 degree room, right?'",
                "A question to the spouse: 'Honey, what do you think?'",
            ),
            # Candidates are proposed at 0.7 (times the speakers' confidence). Silent until the false ones
            # on dev were traced: replies that answer with a price in words, "Ha! Sure, thanks." to an offer,
            # "Either one's fine", "Hang on, let me check ... first" (answered later), and non-questions (a
            # story's "you remember the hail in June?", a tag, an arguing "why keep ...?"). MiniLM similarity
            # does not separate: real answers scored 0.26-0.44, two real misses 0.37 and 0.40. On room audio
            # answers lose their "No," to the recogniser, so a nudge also needs the rep's first reply to move
            # on (every real one on dev did: "So let's talk about ...", "Where's the inside unit?").
            threshold=0.6,
            cooldown_s=90.0,
            can_wait_s=NUDGE_WAIT_S,
        ),
        MomentDefinition(
            MomentType.STEP_SKIPPED_BEFORE_PRICE,
            "The rep states the price before covering a rubric step the tenant requires before price "
            "(e.g. warranty, inspection walk, financing options).",
            "the rep utterance that first states the price",
            "the price stated after every required step; a customer asking for a ballpark early and the "
            "rep declining to give one",
            15.0,
            detector=Detector.PRICE_BEFORE_STEPS,
            pattern="step_back",
            examples=("So your investment for the whole system comes to $14,200.",),
            counter_examples=("Honestly I'd be guessing until I've been up on the roof; let me look first.",),
            rubric_step="before_price",
            threshold=0.6,
            cooldown_s=600.0,
        ),
        MomentDefinition(
            MomentType.TALK_RATIO_HIGH,
            "Over the last 3 minutes the rep spoke more than 75 % of the talk time: the customer gives "
            "only short replies.",
            "the utterance that ends the rep-dominated 3-minute stretch",
            "a rep-heavy stretch shorter than 3 minutes; a stretch where the customer asked to be walked "
            "through something",
            30.0,
            detector=Detector.TALK_RATIO,
            pattern="listen",
            threshold=0.5,
            cooldown_s=240.0,
            lead_s=20.0,
            can_wait_s=NUDGE_WAIT_S,
        ),
        MomentDefinition(
            MomentType.DECISION_MAKER_OBJECTION,
            "The customer defers the decision to someone who is not in the room ('I need to talk to my "
            "wife', 'my landlord has to sign off').",
            "the customer's deferral",
            "the spouse is present and speaks for themselves; a person mentioned without deferring",
            20.0,
            detector=Detector.SEMANTIC,
            pattern="decision_maker",
            examples=(
                "I'd have to run it by my wife first, she handles the money.",
                "I can't decide anything until my husband gets home.",
                "My landlord would have to approve it.",
                "Let me talk it over with my brother, he co-owns the place.",
                "I need to check with my wife before I sign anything.",
                "She's the one who makes these calls, and she's out of town until Monday.",
                "Honestly, my dad owns the house, so it's really his decision, not mine.",
                "I can't commit to anything without my partner seeing the numbers.",
                "The condo board has the final say on anything we do to the outside.",
                "I'll show this to my husband tonight and we'll see what he says.",
            ),
            counter_examples=(
                "My husband says the upstairs has always been hot.",
                "What do you think, honey? You're the one who's here all day.",
                "My wife would love that, she hates the noise.",
            ),
            threshold=0.6,
            llm_confirms=True,
            cooldown_s=120.0,
        ),
        MomentDefinition(
            MomentType.COMPETITOR_MENTIONED,
            "The customer brings up another company's quote, offer or visit.",
            "the customer's mention",
            "a brand of equipment the rep also installs; a past service visit with no comparison",
            20.0,
            detector=Detector.SEMANTIC,
            pattern="competitor",
            examples=(
                "Another company came out last week and quoted us a lot less.",
                "We already got a quote from Blue Sky Roofing.",
                "The other guys said they could do it for eight thousand.",
                "We're getting a couple of other estimates too.",
                "A salesman from a solar outfit stopped by in the spring and offered us a free system.",
                "My neighbor used Acme Heating and they told us they'd beat anybody's price.",
                "We almost went with the company that did the house across the street.",
                "Somebody left a flyer saying they'd do the whole roof for ten percent off.",
                "Why is yours so much more than what Apex told us?",
            ),
            counter_examples=(
                "We had a guy out a few years ago to fix the furnace.",
                "Is that a Carrier? My neighbor has one of those.",
                "The previous owner had it serviced every year.",
            ),
            threshold=0.6,
            llm_confirms=True,
            cooldown_s=120.0,
        ),
        MomentDefinition(
            MomentType.BUYING_SIGNAL,
            "The customer signals readiness to buy ('how soon could you start?', 'what do we need to do "
            "to get on the schedule?'): the rep should ask for the close.",
            "the customer's signal",
            "early curiosity about timelines during discovery ('how long do these usually last?')",
            20.0,
            detector=Detector.SEMANTIC,
            pattern="ask_for_close",
            examples=(
                "Okay, so if we did the middle one, when could you start?",
                "What do we need to do to get on your schedule?",
                "How soon could your crew get out here?",
                "Alright, where do I sign?",
                "If we said yes today, could you still do it before the holidays?",
                "Okay, what's the first step to get this going?",
                "Do you have anything open next week? We'd like to get it done.",
                "Can we lock in that price if we decide tonight?",
            ),
            counter_examples=(
                "How long do these systems usually last?",
                "How long have you guys been in business?",
                "How long does the whole process take, in general?",
            ),
            # The detector proposes from a semantic score of 0.45 (the indirect signals, "do I have to move my
            # car that day?", have no cue phrase, and the exemplars alone give at most half the score); the
            # confidence is that times the turn's speaker confidence, so a bar of 0.45 asked room audio for a
            # certainty about the speaker transcripts alone have. At 0.4, the 40 dev calls' kitchen transcripts
            # gained two signals (17 → 19 of 19) and no false nudge; transcripts are unchanged.
            threshold=0.4,
            cooldown_s=180.0,
        ),
        MomentDefinition(
            MomentType.REP_INTERRUPTING,
            "The rep cuts the customer off mid-sentence for the second time within about 2 minutes.",
            "the rep's second interrupting utterance",
            "a single interruption; backchannels ('mm-hm') that overlap the customer",
            15.0,
            detector=Detector.INTERRUPTIONS,
            pattern="let_them_finish",
            threshold=0.5,
            cooldown_s=180.0,
        ),
        MomentDefinition(
            MomentType.NO_NEXT_STEP,
            "The visit is winding down and no concrete next step (a date, a follow-up call, paperwork) has "
            "been agreed.",
            "the rep utterance that lets the visit end without one",
            "a visit that ends with a scheduled follow-up or a signed agreement",
            30.0,
            detector=Detector.WIND_DOWN,
            pattern="next_step",
            examples=(
                "Well, here's my card. Just give us a call whenever you're ready.",
                "Take your time, think it over, and reach out if you have questions.",
            ),
            counter_examples=(
                "Great, so we're set for Thursday at nine, and I'll text you the confirmation.",
                "I'll call you Monday at six once you've talked it over.",
            ),
            rubric_step="next_steps",
            threshold=0.6,
            cooldown_s=600.0,
        ),
    )
}
