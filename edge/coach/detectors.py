"""The coach's detectors: each watches the conversation for its moment type and proposes candidates.

A detector sees every final utterance in audio order (``observe``) and the passing of audio time
(``tick``, every ~200 ms): timers such as "the rep has not addressed the objection 20 s later" are
decided by time, not by the next utterance. Candidates go to the LLM (when they ask for it) and then
the gate; a detector never nudges by itself.

Every detector reads roles only from utterances whose speaker confidence clears
``min_speaker_confidence``: below it, who said it is a guess, and a guess never triggers a nudge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from edge.coach import cues
from edge.coach.semantic import SemanticScore
from edge.coach.steps import StepCue
from edge.coach.taxonomy import TAXONOMY, MomentType
from edge.frames import Role, Utterance

CUSTOMER_SIDE = (Role.CUSTOMER, Role.OTHER)


@dataclass(frozen=True)
class Candidate:
    type: MomentType
    utterance_ids: tuple[str, ...]
    """The utterances that make the moment (cited by the nudge)."""
    confidence: float
    at_s: float
    """Audio time when the moment became decidable: the end of the triggering utterance, or a deadline."""
    reason: str
    exchange: str | None = None
    """What was said, as the LLM is asked to label it (for the types it confirms)."""
    cue: bool = False
    """One of the type's cue phrases matched (``semantic._CUES``): the LLM need not be as sure to confirm it."""


@dataclass(frozen=True)
class DetectorSettings:
    min_speaker_confidence: float = 0.65
    """Below this, who said it is a guess. Speaker confidence is calibrated (how often the role is right), so
    this acts on speech whose role is right about two times in three or better. It sits above the 0.6 cap
    attribution puts on every role when no rep is enrolled (the rep is then only "whoever talks most"), so an
    unenrolled call gets no nudges."""
    cue_speaker_confidence: float = 0.5
    """A customer-side utterance less sure than ``min_speaker_confidence`` but sure to this is still read for
    the LLM-confirmed and buying types when its turn carries one of their cue phrases: those phrases are
    the customer's own words ("so I can't sign anything without him", heard at 0.52 in a turn whose
    pieces were 0.51-0.76, dev hvac-10 kitchen), and the LLM and the gate weigh the candidate at its
    speaker confidence. Only for a voice already heard surely on the customer side
    (``CallView.customer_side_for_cues``).
    On the 40 dev calls' kitchen transcripts: one deferral more, no false nudge."""
    monologue_words: int = 150
    """Rep words in one run of the floor (backchannels from others do not end it) that make a monologue."""
    question_pause_s: float = 0.8
    """A rep question ends the run only if the rep then pauses this long (or someone answers)."""
    talk_window_s: float = 180.0
    talk_ratio: float = 0.76
    """Rep share of talk time over ``talk_window_s`` above which the rep dominates (the taxonomy says 75 %,
    measured on voiced speech; evaluated at utterance ends). On the 40 dev calls 0.76 caught all 15 labelled
    stretches in transcripts with no false nudge (0.78: 13, two late), and on kitchen audio 13 against 12."""
    interruption_window_s: float = 120.0
    interruption_gap_s: float = 0.3
    """A rep turn starting within this of a customer utterance's end can be cutting it off."""
    interruption_overlap_s: float = 0.3
    """It is a cut-off when the rep talked over the customer this long as they started: by the utterances'
    times (labelled conversations), or as the segmentation model heard it (``Utterance.overlap_s``; the
    pipeline's utterances never overlap in time). Whisper's punctuation is no evidence: a turn cut at a
    change of speaker often loses its full stop, finished or not. On dev kitchen renders the scripted cut-offs
    overlapped 0.31-0.83 s, and a change of speaker that cut nobody off reached 0.27 s."""
    min_cut_words: int = 4
    """Words a customer-side turn needs for talking over it to be a cut-off."""
    objection_score: float = 0.45
    """Semantic score from which a customer utterance is treated as a price objection and watched."""
    objection_response_s: float = 20.0
    """How long the rep has to acknowledge an objection."""
    price_turn_wait_s: float = 4.0
    """How long after the last piece of the rep's price turn a skipped step is decided, if no one else speaks
    first: the recogniser hands over a turn's pieces one at a time, each a second or two after it ends."""
    price_piece_wait_s: float = 6.0
    """How much longer a skipped step waits for a piece still being spoken when ``price_turn_wait_s`` runs out
    (live, the recogniser hands over a piece after at most 6 s of speech)."""
    away_pause_s: float = 5.0
    """A pause in the talk this long after the rep announced an inspection is them going to do it
    (``StepCue.away``)."""
    price_reaction_s: float = 15.0
    """A customer turn starting this soon after a rep turn that states a price is a reaction to it."""
    price_reaction_score: float = 0.25
    """A reaction to the price is watched as an objection from this semantic score ("Thirty-one. Huh. Nope."
    scores 0.32, "Eighteen-fifty? Luis. That's four months of my car note." 0.33: MiniLM weighs the words,
    not that they answer a price)."""
    price_reaction_confidence: float = 0.7
    """The confidence such a reaction carries when the rep's next turns leave it unacknowledged."""
    question_response_s: float = 22.0
    """How long the rep has to answer (or promise to answer) a question."""
    min_question_words: int = 4
    answer_similarity: float = 0.25
    """A reply whose best sentence is at least this close to the question (MiniLM cosine) answers it."""
    min_relevance_words: int = 5
    """Replies shorter than this are not weighed by similarity."""
    semantic_score: float = 0.45
    """Semantic score from which a semantic-only type becomes a candidate."""
    llm_semantic_score: float = 0.4
    """The same for the types the LLM confirms: its fast stage is there for recall, the LLM for precision. Not
    lower: on the dev split the LLM also confirmed small talk scoring 0.37-0.45 as competitor mentions (three
    false nudges at 0.35), and raising this to 0.4 removed two of them for one real mention lost."""
    settle_s: float = 2.5
    """A deferral to someone is held this long when another customer-side voice is in the room: if that
    person answers for themselves, no decision maker is absent. They do so at once, and the rep's tap comes
    this much later (the LLM confirms during the hold); on the dev split a 6 s hold caught one real deferral
    fewer than 2.5 s."""
    answer_wait_s: float = 12.0
    """Held longer, up to this long after the deferral, while someone who began talking after it has not
    been heard out: whether they are the person deferred to is in their words. Live a piece comes at most
    every 6 s of speech; a text replay has whole utterances (dev roofing-01: the wife's answer, 10.4 s)."""
    next_step_lookback_s: float = 150.0
    """How far back an agreed next step counts when the rep winds the visit down."""
    wind_down_settle_s: float = 8.0
    """How long the talk must stay wound down before "no next step" is decided."""
    turn_gap_s: float = 1.0
    """One speaker's utterances less than this apart (others' backchannels aside) are one turn."""
    turn_max_s: float = 40.0
    """A turn read as one is at most this long."""
    exchange_words: int = 60
    """The LLM reads at most the last this many words of a customer's turn."""


class Detector(Protocol):
    def observe(self, u: Utterance, view: CallView) -> list[Candidate]: ...
    def tick(self, now_s: float, view: CallView) -> list[Candidate]: ...


@dataclass
class CallView:
    """What the detectors know of the call so far."""

    settings: DetectorSettings
    utterances: list[Utterance] = field(default_factory=list)
    speech_since_s: float | None = None
    """Where the speech going on now began: someone is talking whose words are not an utterance yet."""

    def role(self, u: Utterance) -> Role | None:
        """The utterance's role when attribution is sure enough to act on it."""
        return u.role if u.speaker_confidence >= self.settings.min_speaker_confidence else None

    def customer_side(self, u: Utterance) -> bool:
        return self.role(u) in CUSTOMER_SIDE

    def customer_side_for_cues(self, u: Utterance) -> bool:
        """Customer side as sure as ``cue_speaker_confidence`` will do for reading cue phrases, if the voice is
        one already heard surely on the customer side (so a call with no rep enrolled, every role capped below
        ``min_speaker_confidence``, still gets no nudges)."""
        if u.role in CUSTOMER_SIDE and u.speaker_confidence >= self.settings.cue_speaker_confidence:
            return self.customer_side(u) or u.speaker_id in self.customer_voices()
        return False

    def rep(self, u: Utterance) -> bool:
        return self.role(u) == Role.REP

    def turn(self, u: Utterance) -> list[Utterance]:
        """``u`` and the utterances of the same speaker's turn before it. The pipeline cuts a turn at its
        pauses ("So, for all of that." "The exclusion, the setup." "It's $425 to start."), and what a turn
        says is often only in the whole: the price, the deferral, the goodbye."""
        s = self.settings
        run = [u]
        for x in reversed(self.utterances):
            if x.id == u.id or x.start_s > u.start_s:
                continue
            if x.speaker_id != u.speaker_id:
                if cues.is_backchannel(x.text):
                    continue
                break
            if run[0].start_s - x.end_s > s.turn_gap_s or u.end_s - x.start_s > s.turn_max_s:
                break
            run.insert(0, x)
        return run

    def turn_text(self, u: Utterance, max_words: int | None = None) -> str:
        """The turn's words; with ``max_words``, only its last ones (what the LLM is shown: every token of the
        exchange costs ~25 ms of one core before the verdict)."""
        text = " ".join(x.text.strip() for x in self.turn(u))
        if max_words is not None and len(text.split()) > max_words:
            text = "... " + " ".join(text.split()[-max_words:])
        return text

    def follows_price(self, u: Utterance) -> bool:
        """``u``'s turn answers a price: the rep's last turn before it ended at most ``price_reaction_s`` before
        it began, and states one, or the customer's turn opens by repeating one (``cues.echoes_price``)."""
        start = self.turn(u)[0].start_s
        for x in reversed(self.utterances):
            if x.start_s >= start or not self.rep(x) or cues.is_backchannel(x.text):
                continue
            priced = cues.states_price(self.turn_text(x)) or cues.echoes_price(self.turn_text(u))
            return start - x.end_s <= self.settings.price_reaction_s and priced
        return False

    def money_heard(self, u: Utterance) -> bool:
        """Money has come up by ``u`` (in it or before it): an objection to the price needs a price, or at least
        talk of paying ("Which I hate. Her knee's bad and those stairs are steep as anything." is no objection,
        dev hvac-11)."""
        return any(cues.mentions_money(x.text) for x in self.utterances if x.start_s <= u.start_s)

    def customer_voices(self) -> set[str]:
        return {u.speaker_id for u in self.utterances if self.customer_side(u) and not cues.is_backchannel(u.text)}


_TOUCHING_S = 0.05
"""Utterance times are rounded; one starting this little before the last ended starts after it."""


class MonologueDetector:
    """Rep words since the floor was last given: a question from the rep, or a real turn from anyone else.

    A question gives the floor only if the rep then leaves room to answer: Whisper turns pieces of a pitch
    into questions ("The way we treat it" → "Where we treated?"), and a rhetorical "you know what the best
    part is?" carried straight on gives nobody the floor. It also loses question marks ("You with me?" →
    "You with me.", "That sound right?" → "That's how I"), so a bare "Yeah." from anyone else, said after the
    rep stopped and not talked over when the rep goes on, is taken for the answer to a question (dev
    roofing-10, solar-06 kitchen), whoever the attribution thinks said it; a "mm-hm" or an "okay" is not."""

    def __init__(self) -> None:
        self._run: list[Utterance] = []
        self._words = 0
        self._requested = False
        self._fired = False
        self._last_other_text = ""
        self._question_end_s: float | None = None
        self._rep_end_s = 0.0
        self._answer_end_s: float | None = None
        """The end of a bare yes or no said after the rep's last piece (see the class doc)."""

    def observe(self, u: Utterance, view: CallView) -> list[Candidate]:
        s = view.settings
        if view.rep(u):
            if self._question_end_s is not None:
                if u.start_s - self._question_end_s > s.question_pause_s:
                    self._reset()
                self._question_end_s = None
            if self._answer_end_s is not None and u.start_s >= self._answer_end_s - _TOUCHING_S and not u.overlap_s:
                self._reset()  # the rep let the answer be heard: a question and its answer, the floor given
            self._answer_end_s = None
            self._rep_end_s = u.end_s
            if not self._run:
                self._requested = cues.requests_explanation(self._last_other_text)
            self._run.append(u)
            self._words += len(cues.words(u.text))
            if cues.asks_question(u.text):
                self._question_end_s = u.end_s
                return []
            if self._words >= s.monologue_words and not self._fired and not self._requested:
                self._fired = True
                confidence = min(x.speaker_confidence for x in self._run)
                ids = tuple(x.id for x in self._run)
                return [
                    Candidate(
                        MomentType.REP_MONOLOGUE, ids, confidence, u.end_s, f"{self._words} rep words, no question"
                    )
                ]
            return []
        if u.role != Role.REP and u.start_s >= self._rep_end_s - _TOUCHING_S and cues.is_bare_answer(u.text):
            self._answer_end_s = u.end_s
        if view.role(u) is not None and not cues.is_backchannel(u.text):
            # A turn from someone else gives the floor; one whose speaker is unsure (often a piece of the rep's
            # own run mixed with room noise) neither counts for the rep nor ends the run.
            self._last_other_text = view.turn_text(u)  # "walk me through it" may be an earlier piece of the turn
            self._reset()
        return []

    def tick(self, now_s: float, view: CallView) -> list[Candidate]:
        return []

    def _reset(self) -> None:
        self._run, self._words, self._fired, self._question_end_s = [], 0, False, None


class TalkRatioDetector:
    def __init__(self) -> None:
        self._fired_at = -1e9

    def observe(self, u: Utterance, view: CallView) -> list[Candidate]:
        s = view.settings
        end = u.end_s
        if end < s.talk_window_s or end - self._fired_at < s.talk_window_s:
            return []
        start = end - s.talk_window_s
        rep_s = other_s = 0.0
        requested = False
        for x in view.utterances:
            overlap = min(x.end_s, end) - max(x.start_s, start)
            if overlap <= 0:
                continue
            if view.rep(x):
                rep_s += overlap
            elif view.customer_side(x):
                other_s += overlap
                # The whole turn: room audio cuts "How long does this take? From start to finish." in two.
                requested |= cues.requests_explanation(view.turn_text(x))
        total = rep_s + other_s
        if total <= 0 or requested:
            return []
        ratio = rep_s / total
        if ratio <= s.talk_ratio:
            return []
        self._fired_at = end
        confidence = min(1.0, 0.5 + 2 * (ratio - s.talk_ratio))
        return [Candidate(MomentType.TALK_RATIO_HIGH, (u.id,), confidence, end, f"rep {ratio:.0%} of talk, last 3 min")]

    def tick(self, now_s: float, view: CallView) -> list[Candidate]:
        return []


class InterruptionDetector:
    """The rep starting a turn while a customer-side speaker is still talking, twice within the window.

    A turn is judged by its first piece: the word that cuts in is often a short piece whose speaker the
    attributor is unsure of, followed by a sure piece of the same voice."""

    def __init__(self) -> None:
        self._cuts: list[Utterance] = []
        self._judged: set[str] = set()
        """First pieces of the rep turns already judged."""

    def observe(self, u: Utterance, view: CallView) -> list[Candidate]:
        s = view.settings
        if not view.rep(u) or cues.is_backchannel(u.text):
            return []
        # (A backchannel the rep gave while the customer spoke is no cut-off, even run into the rep's turn.)
        first = next(x for x in view.turn(u) if not cues.is_backchannel(x.text))
        if first.id in self._judged:
            return []
        self._judged.add(first.id)
        before = [
            x
            for x in view.utterances
            if x.id != first.id and x.start_s < first.start_s and not cues.is_backchannel(x.text)
        ]
        if not before:
            return []
        previous = max(before, key=lambda x: x.end_s)
        talked_over = max(first.overlap_s, previous.end_s - first.start_s) >= s.interruption_overlap_s
        # Someone was saying something: a murmur Whisper did not hear as a backchannel ("Mm" → "on this") is
        # no turn to cut off, the end of a real one is, however short its last piece ("... if you file a, you").
        saying = len(cues.words(view.turn_text(previous))) >= s.min_cut_words
        cut_off = view.customer_side(previous) and talked_over and saying
        if not cut_off or first.start_s > previous.end_s + s.interruption_gap_s:
            return []
        self._cuts = [x for x in self._cuts if x.start_s >= first.start_s - s.interruption_window_s] + [u]
        if len(self._cuts) < 2:
            return []
        confidence = min(x.speaker_confidence for x in self._cuts)
        ids = tuple(x.id for x in self._cuts)
        self._cuts = []
        return [Candidate(MomentType.REP_INTERRUPTING, ids, confidence, u.end_s, "second cut-off in 2 min")]

    def tick(self, now_s: float, view: CallView) -> list[Candidate]:
        return []


@dataclass
class _Pending:
    type: MomentType
    trigger: Utterance
    deadline_s: float
    score: float
    asked: str = ""
    """For a question: the sentence that asks it."""
    said: str = ""
    """What the customer said (for an objection, the whole turn so far)."""
    replies: list[Utterance] = field(default_factory=list)


Relevance = Callable[[str, str], "float | None"]
"""How well a reply answers a question, 0-1 (``SemanticStage.relevance``)."""


class UnaddressedDetector:
    """Price objections and questions the rep's next turns leave unaddressed.

    An objection is addressed when a reply acknowledges it; a question, when a reply answers it (says
    yes or no, picks up its topic) or promises to. Until the deadline passes nothing is decided; a
    question someone else on the customer side answers first was not the rep's to answer.
    """

    def __init__(self, relevance: Relevance | None = None) -> None:
        self._pending: list[_Pending] = []
        self._relevance = relevance

    def observe(self, u: Utterance, view: CallView, scores: dict[MomentType, SemanticScore] | None) -> None:
        s = view.settings
        for p in list(self._pending):
            if u.id == p.trigger.id or u.start_s < p.trigger.start_s:
                continue
            if view.rep(u) or view.role(u) is None:
                # A bare "yes" or "seven" answers only the latest question, and only as the first thing said.
                opening = not p.replies and p is self._latest_question()
                if cues.is_backchannel(u.text):
                    # "Yeah." is a listener's signal, except straight after a yes/no question: the answer.
                    if opening and p.type == MomentType.QUESTION_UNANSWERED and cues.starts_with_answer(u.text):
                        self._pending.remove(p)
                    continue
                if self._addressed(p, u, view.settings, opening):
                    self._pending.remove(p)
                elif view.rep(u):
                    # An utterance whose speaker is unsure may still answer (then nothing fires), but is no
                    # evidence of a rep talking past the customer.
                    p.replies.append(u)
            elif (
                p.type == MomentType.QUESTION_UNANSWERED
                and not p.replies
                and view.customer_side(u)
                and u.speaker_id != p.trigger.speaker_id
                and not cues.is_backchannel(u.text)
            ):
                self._pending.remove(p)  # another person took the question
        if not view.customer_side(u) or cues.is_backchannel(u.text):
            return
        objection = scores.get(MomentType.PRICE_OBJECTION_UNADDRESSED) if scores else None
        score = objection.score if objection is not None else 0.0
        questions = cues.direct_questions(u.text) or cues.unmarked_questions(u.text)
        # A balk at the price just stated ("Thirty-one? Honey, I don't know how we'd ever come up with that")
        # is watched from a lower score, and carries more weight; a question about it is a question.
        reacting = not questions and view.follows_price(u)
        objecting = score >= s.objection_score and view.money_heard(u)
        if objecting or (reacting and score >= s.price_reaction_score):
            kind = MomentType.PRICE_OBJECTION_UNADDRESSED
            self._pending = [p for p in self._pending if p.type != kind]  # a second objection restates the first
            said = view.turn_text(u, s.exchange_words)
            confidence = max(score, s.price_reaction_confidence) if reacting else score
            self._pending.append(_Pending(kind, u, u.end_s + s.objection_response_s, confidence, said=said))
        elif questions and len(cues.words(u.text)) >= s.min_question_words:
            kind = MomentType.QUESTION_UNANSWERED
            self._pending.append(_Pending(kind, u, u.end_s + s.question_response_s, 0.7, questions[-1]))

    def _latest_question(self) -> _Pending | None:
        questions = [p for p in self._pending if p.type == MomentType.QUESTION_UNANSWERED]
        return max(questions, key=lambda p: p.trigger.start_s) if questions else None

    def tick(self, now_s: float, view: CallView) -> list[Candidate]:
        out = []
        for p in list(self._pending):
            if now_s < p.deadline_s:
                continue
            self._pending.remove(p)
            if not p.replies:
                continue  # the rep has not spoken since: not a response that missed, nothing to coach yet
            if p.type == MomentType.QUESTION_UNANSWERED and not cues.moves_on(p.replies[0].text):
                # Talking past a question opens by moving on ("So let's talk about ...", "Where's the
                # unit?"); a reply that opens otherwise is more likely an answer the words did not show
                # (on room audio: "No, that already accounts for it" heard as "that already accounts for it").
                continue
            # Whose question and whose replies: every reply is already the rep's (``CallView.rep``), so their
            # mean, not the least sure of a long turn's pieces, says how sure the talking past is.
            replies_confidence = sum(r.speaker_confidence for r in p.replies) / len(p.replies)
            confidence = round(p.score * min(p.trigger.speaker_confidence, replies_confidence), 3)
            exchange = f'Customer: "{p.said or p.trigger.text}"\n' + "".join(
                f'Rep: "{r.text}"\n' for r in p.replies[:3]
            )
            ids = (p.trigger.id, *(r.id for r in p.replies[:3]))
            reason = "no acknowledgement" if p.type == MomentType.PRICE_OBJECTION_UNADDRESSED else "no answer"
            out.append(
                Candidate(p.type, ids, confidence, p.deadline_s, f"{reason} in {len(p.replies)} rep turns", exchange)
            )
        return out

    def _addressed(self, p: _Pending, reply: Utterance, s: DetectorSettings, opening: bool) -> bool:
        if p.type == MomentType.PRICE_OBJECTION_UNADDRESSED:
            return cues.acknowledges(reply.text)
        # A bare "yes"/"no" answers only the question just asked, straight away; a promise, the question's
        # topic, the kind of thing it asks for (a price, a time) or a reply close to it in meaning, any.
        if (
            (opening and cues.starts_with_answer(reply.text))
            or cues.defers_answer(reply.text)
            or bool(cues.content_words(p.asked) & cues.content_words(reply.text))
            or cues.answers_kind(p.asked, reply.text)
        ):
            return True
        # Similarity of a few words is noise: room audio cuts turns into pieces like "The rest don't care."
        if self._relevance is None or len(cues.words(reply.text)) < s.min_relevance_words:
            return False
        relevance = self._relevance(p.asked, reply.text)
        return relevance is not None and relevance >= s.answer_similarity


class PriceBeforeStepsDetector:
    """The rep's first price, against the rubric steps that should come before it.

    A step covered in the same breath as the price counts ("it's $31,400 ... on the loan that's $159 a
    month"), and room audio cuts that breath into pieces: the rest of the price turn is read before deciding,
    until someone else speaks or no rep piece has come for ``price_turn_wait_s``."""

    def __init__(self, before_price: dict[str, StepCue]) -> None:
        self._steps = before_price
        self._covered: set[str] = set()
        self._announced: dict[str, float] = {}
        """Steps done away from the table that the rep said they would do (``StepCue.away``): when they said so."""
        self._talk: list[tuple[float, float]] = []
        """When someone was talking (utterances arrive by their ends, so a long one comes after what it spans)."""
        self._price_turn: list[Utterance] = []
        self._done = False

    def observe(self, u: Utterance, view: CallView) -> list[Candidate]:
        if self._done:
            return []
        self._talk.append((u.start_s, u.end_s))
        if view.role(u) is None:
            # Who said it is a guess: it neither states the price nor ends the price turn, but it may be the rep
            # covering a step, and a nudge saying they skipped it would then be wrong (dev roofing-02, kitchen:
            # "12 months same as cash ..." attributed to the rep at 0.50).
            self._credit(u, by_rep=True)
            return []
        if self._price_turn and not view.rep(u) and not cues.is_backchannel(u.text):
            return self._decide(u.end_s, view.settings.away_pause_s)
        self._credit(u, view.rep(u))
        if self._price_turn:
            if view.rep(u):
                self._price_turn.append(u)
        elif view.rep(u) and cues.states_price(view.turn_text(u)):
            self._price_turn = [u]
        return []

    def _credit(self, u: Utterance, by_rep: bool) -> None:
        for step, cue in self._steps.items():
            if cue.covered_by(u.text, by_rep):
                self._covered.add(step)
            elif cue.announced_by(u.text, by_rep):
                self._announced.setdefault(step, u.end_s)

    def tick(self, now_s: float, view: CallView) -> list[Candidate]:
        if self._done or not self._price_turn:
            return []
        last = self._price_turn[-1]
        waited_until = last.end_s + view.settings.price_turn_wait_s
        if now_s < waited_until:
            return []
        # Someone is still talking since the last piece: the next piece is on its way, and may be the rep
        # giving the monthly payment in the same breath (dev solar-01 kitchen: "On the low, that's about $178 a
        # month." took 4.1 s). Whoever it is, their words decide, up to ``price_piece_wait_s`` more.
        speaking = view.speech_since_s is not None and view.speech_since_s >= last.end_s - 0.001
        if speaking and now_s < waited_until + view.settings.price_piece_wait_s:
            return []
        return self._decide(now_s if speaking else waited_until, view.settings.away_pause_s)

    def _decide(self, at_s: float, pause_s: float) -> list[Candidate]:
        self._done = True
        price = self._price_turn[0]
        went = {step for step, said_s in self._announced.items() if self._paused(said_s, price.start_s, pause_s)}
        missing = [step for step in self._steps if step not in self._covered | went]
        if not missing:
            return []
        reason = "price before " + ", ".join(missing)
        return [Candidate(MomentType.STEP_SKIPPED_BEFORE_PRICE, (price.id,), price.speaker_confidence, at_s, reason)]

    def _paused(self, from_s: float, to_s: float, pause_s: float) -> bool:
        """Whether the talk stopped for ``pause_s`` somewhere between the two times: the rep went to look. A
        silence just before the price (``to_s``) is not counted: that is a quote being written up."""
        talked_until = from_s
        for start, end in sorted(self._talk):
            if start >= to_s:
                break
            if end <= talked_until:
                continue
            if start - talked_until >= pause_s:
                return True
            talked_until = max(talked_until, end)
        return False


class SemanticDetector:
    """Utterance-level types (decision maker, competitor, buying signal) from the semantic stage."""

    def __init__(self) -> None:
        self._held: list[tuple[Candidate, Utterance]] = []
        self._proposed: set[tuple[MomentType, str, bool]] = set()
        """(type, first utterance of the turn, cue): a turn is scored again as each piece arrives, and proposed
        once per type (one LLM confirmation, not one per piece), and once more if a later piece brings a cue
        phrase ("The house is mine and my sister's." ... "she would have to sign off on anything like this",
        dev solar-12 kitchen)."""

    def observe(self, u: Utterance, view: CallView, scores: dict[MomentType, SemanticScore] | None) -> list[Candidate]:
        """``scores``: the semantic stage's reading of ``u``'s whole turn so far (``CallView.turn``)."""
        s = view.settings
        out = []
        deferral = scores.get(MomentType.DECISION_MAKER_OBJECTION) if scores else None
        defers_too = deferral is not None and deferral.score >= s.llm_semantic_score
        for candidate, trigger in list(self._held):
            # "Right." while the room answers is no reply (dev roofing-01 kitchen: the rep's, under an "I'm right
            # here" heard too unsure to be anyone's).
            if cues.is_backchannel(u.text):
                continue
            other = view.customer_side(u) and u.speaker_id != trigger.speaker_id
            if u.speaker_id == trigger.speaker_id and u.start_s - trigger.end_s <= s.turn_gap_s:
                # The same turn goes on (room audio cuts it into pieces): it is read again whole below, and the
                # LLM asked about all of it ("It's your house, Ma." then "I think it's the right one.", dev
                # hvac-05 kitchen, is a son approving, not a deferral).
                self._held.remove((candidate, trigger))
                self._proposed.discard((candidate.type, candidate.utterance_ids[0], candidate.cue))
            elif other and not defers_too and cues.speaks_for_self(u.text):
                self._held.remove((candidate, trigger))  # the other person is here and speaks for themselves
            elif view.role(u) is not None:
                # The rep's reply, or someone in the room deferring to the same absent person ("Mom's on top
                # of that stuff, she'll want to see it", dev hvac-06) or speaking of them ("Jake will say yes.
                # He talks about solar every dinner.", dev solar-10): the decision maker is not here.
                self._held.remove((candidate, trigger))
                out.append(replace(candidate, at_s=u.end_s))
        if not view.customer_side_for_cues(u) or not scores or cues.is_backchannel(u.text):
            return out
        objection = max(
            (scores[t].score for t in (MomentType.DECISION_MAKER_OBJECTION, MomentType.PRICE_OBJECTION_UNADDRESSED)
             if t in scores), default=0.0,
        )  # fmt: skip
        turn = view.turn(u)
        for t in (MomentType.DECISION_MAKER_OBJECTION, MomentType.COMPETITOR_MENTIONED, MomentType.BUYING_SIGNAL):
            score = scores.get(t)
            floor = s.llm_semantic_score if TAXONOMY[t].llm_confirms else s.semantic_score
            if score is None or score.score < floor or not (score.cue or view.customer_side(u)):
                continue  # below the bar, or only a cue phrase lets an unsure speaker count
            if (t, turn[0].id, True) in self._proposed or (t, turn[0].id, score.cue) in self._proposed:
                continue  # proposed already, and the later pieces bring no cue that the first reading lacked
            if t == MomentType.BUYING_SIGNAL and objection > score.score:
                continue  # "I can't sign anything today": reads like signing, is an objection
            self._proposed.add((t, turn[0].id, score.cue))
            confidence = round(score.score * _mean_confidence(turn), 3)
            reason = f"{'cue, ' if score.cue else ''}nearest example: {score.nearest!r}"
            said = view.turn_text(u, s.exchange_words)
            ids = tuple(x.id for x in turn)
            candidate = Candidate(t, ids, confidence, u.end_s, reason, f'Customer: "{said}"\n', cue=score.cue)
            others_here = view.customer_voices() - {u.speaker_id}
            if t == MomentType.DECISION_MAKER_OBJECTION and others_here:
                self._held.append((candidate, u))
            else:
                out.append(candidate)
        return out

    def tick(self, now_s: float, view: CallView) -> list[Candidate]:
        out = []
        for candidate, trigger in list(self._held):
            # Someone began talking after the deferral: their words, when they come, say whether it was the
            # person deferred to (dev roofing-01: "I'm right here, Greg. I think we do the Class 4." took 4 s).
            # (Utterance times are rounded to the millisecond; the VAD's speech starts after the last segment.)
            answering = view.speech_since_s is not None and view.speech_since_s >= trigger.end_s - 0.001
            if answering and now_s < trigger.end_s + view.settings.answer_wait_s:
                continue
            if now_s >= trigger.end_s + view.settings.settle_s:
                self._held.remove((candidate, trigger))
                # Decidable only now (like a question's deadline): until then the other person could answer.
                waited = view.settings.answer_wait_s if answering else view.settings.settle_s
                out.append(replace(candidate, at_s=trigger.end_s + waited))
        return out

    def held(self) -> list[Candidate]:
        """Candidates waiting to see whether someone else answers: their LLM confirmation can start now, so
        the nudge goes as soon as the wait ends."""
        return [candidate for candidate, _ in self._held]


class WindDownDetector:
    """The rep closing the visit with no next step. Visits end in stages ("here's my card" ... "oh, and the
    bathroom?" ... "call us whenever"), so a wind-down is decided once the talk has stayed wound down for
    ``wind_down_settle_s``: a real question or a new topic from the customer reopens the visit."""

    def __init__(self) -> None:
        self._pending: Utterance | None = None
        self._priced = False
        self._fired = False

    def observe(self, u: Utterance, view: CallView) -> list[Candidate]:
        s = view.settings
        if self._fired:
            return []
        if not self._priced:
            # An offer was made: the rep stated a price, or the customer is reacting to one the recogniser lost.
            self._priced = (view.rep(u) and cues.states_price(view.turn_text(u))) or (
                view.customer_side(u) and view.follows_price(u)
            )
        if _commits(u, view) or (self._pending is not None and view.customer_side(u) and _reopens(u.text)):
            self._pending = None
        # Only after an offer: before the price, "reach out" or "let me know" is not the visit ending.
        if self._priced and view.rep(u) and cues.winds_down(view.turn_text(u)) and not _commits(u, view):
            recent = [x for x in view.utterances if x.end_s >= u.end_s - s.next_step_lookback_s and x.id != u.id]
            if not any(_commits(x, view) for x in recent):
                self._pending = u
        return []

    def tick(self, now_s: float, view: CallView) -> list[Candidate]:
        u = self._pending
        if u is None or now_s < u.end_s + view.settings.wind_down_settle_s:
            return []
        self._pending, self._fired = None, True
        deadline = u.end_s + view.settings.wind_down_settle_s
        return [Candidate(MomentType.NO_NEXT_STEP, (u.id,), u.speaker_confidence, deadline, "wound down, no next step")]


def _mean_confidence(turn: list[Utterance]) -> float:
    """Speaker confidence of a turn, by the time each piece took: one unsure piece ("So, if the adjuster signs
    off." at 0.40, then "How soon can you get a crew out here?" at 0.96, dev roofing-11 kitchen) does not make
    the whole turn a guess."""
    spoken = sum(max(x.end_s - x.start_s, 0.1) for x in turn)
    return sum(x.speaker_confidence * max(x.end_s - x.start_s, 0.1) for x in turn) / spoken


def _commits(u: Utterance, view: CallView) -> bool:
    """The rep stating a next step as settled (a proposal put as a question is not yet agreed)."""
    return view.rep(u) and not cues.asks_question(u.text) and cues.agrees_next_step(view.turn_text(u))


def _reopens(text: str) -> bool:
    """A customer turn that keeps the visit going: a real question ("and the bathroom? what do I do if it
    rains?"). Goodbyes can run long ("take some tomatoes, and drive safe, it's a hundred and six out there")
    without reopening anything."""
    return bool(cues.direct_questions(text))
