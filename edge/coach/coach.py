"""The live coach (Path A): utterances and the passing of time in, nudges out.

Each final utterance goes to every detector (the semantic stage scores customer utterances first);
every ~200 ms of audio ``tick`` lets timers expire. Candidates that want the LLM's confirmation are
handed to the confirmation worker and wait for its verdict at most ``confirm_timeout_s``; without
one (no model, too slow, an error) the gate applies the stricter threshold, so the coach degrades to
its fast stages instead of stalling. A nudge that can wait for the rep to finish a sentence does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Protocol

from edge.coach import cues
from edge.coach.detectors import (
    CallView,
    Candidate,
    Detector,
    DetectorSettings,
    InterruptionDetector,
    MonologueDetector,
    PriceBeforeStepsDetector,
    SemanticDetector,
    TalkRatioDetector,
    UnaddressedDetector,
    WindDownDetector,
)
from edge.coach.gate import Gate, GateDecision, GateSettings, Verdict
from edge.coach.semantic import SemanticStage
from edge.coach.steps import before_price_cues, cues_for
from edge.coach.taxonomy import TAXONOMY, MomentType
from edge.frames import Moment, Nudge, Utterance


class Confirmations(Protocol):
    def submit(self, candidate_type: MomentType, exchange: str) -> Future[Verdict]: ...
    def close(self, timeout_s: float = 10.0) -> None: ...


@dataclass(frozen=True)
class CoachSettings:
    detectors: DetectorSettings = field(default_factory=DetectorSettings)
    gate: GateSettings = field(default_factory=GateSettings)
    confirm_timeout_s: float = 3.0
    """Wall time a candidate waits for the LLM before the gate decides without it."""
    nudge_expiry_s: float = 4.0
    """A nudge not delivered this long after it fired is dropped, never played late."""
    sure_skips_llm: bool = True
    """A candidate sure enough to fire without the LLM's yes (its type's threshold plus the unconfirmed
    margin) fires at once instead of waiting ~2 s for a verdict that could only veto it."""


@dataclass
class _Waiting:
    candidate: Candidate
    verdict: Future[Verdict] | None
    since_ns: int

    def withdraw(self) -> None:
        """No verdict is wanted any more (one already running finishes unread)."""
        if self.verdict is not None:
            self.verdict.cancel()


@dataclass(frozen=True)
class FiredNudge:
    nudge: Nudge
    decision: GateDecision
    sent_s: float
    """Audio time (as far as the coach knew it) when the nudge was sent."""


class LiveCoach:
    def __init__(
        self,
        call_id: str,
        trade: str,
        semantic: SemanticStage,
        confirmations: Confirmations | None = None,
        settings: CoachSettings | None = None,
        now_ns: Callable[[], int] = time.monotonic_ns,
        before_price_steps: tuple[str, ...] | None = None,
    ) -> None:
        """``before_price_steps``: the pinned rubric's steps required before price (None: the trade's
        starter rubric's)."""
        self.settings = settings or CoachSettings()
        self.call_id = call_id
        self.gate = Gate(self.settings.gate)
        self._semantic = semantic
        self._confirmations = confirmations
        self._now_ns = now_ns
        self._view = CallView(self.settings.detectors)
        self._unaddressed = UnaddressedDetector(semantic.relevance)
        self._semantic_types = SemanticDetector()
        self._simple: list[Detector] = [
            MonologueDetector(),
            TalkRatioDetector(),
            InterruptionDetector(),
            PriceBeforeStepsDetector(
                before_price_cues(trade) if before_price_steps is None else cues_for(before_price_steps)
            ),
            WindDownDetector(),
        ]
        self._waiting: list[_Waiting] = []
        self._early: dict[tuple[MomentType, tuple[str, ...]], _Waiting] = {}
        """Confirmations started while the detector holds a candidate back (keyed by type and utterances)."""
        self._deferred: list[tuple[GateDecision, float]] = []  # fired, waiting for the rep to finish a sentence
        self.llm_errors = 0

    def observe(self, u: Utterance, rep_speaking: bool = False) -> list[FiredNudge]:
        if u.is_cross_talk:  # no words, and its time lies inside a turn already seen: nothing to detect
            return []
        self._view.utterances.append(u)
        scores = None
        if self._view.customer_side_for_cues(u) and not cues.is_backchannel(u.text):
            scores = self._semantic.score(self._view.turn_text(u))
        candidates = [c for d in self._simple for c in d.observe(u, self._view)]
        self._unaddressed.observe(u, self._view, scores)
        candidates += self._semantic_types.observe(u, self._view, scores)
        self._consider(candidates)
        self._confirm_held()
        return self._release(u.end_s, rep_speaking)

    def tick(self, now_s: float, rep_speaking: bool = False, speech_since_s: float | None = None) -> list[FiredNudge]:
        """``speech_since_s``: where the speech going on at ``now_s`` began, if anyone is talking whose words
        are not an utterance yet."""
        self._view.speech_since_s = speech_since_s
        candidates = self._unaddressed.tick(now_s, self._view) + self._semantic_types.tick(now_s, self._view)
        candidates += [c for d in self._simple for c in d.tick(now_s, self._view)]
        self._consider(candidates)
        self._confirm_held()
        return self._release(now_s, rep_speaking)

    def close(self) -> None:
        """The call is over: what still waits for the LLM is decided (for the log), and nothing more is sent."""
        for w in self._waiting:
            self.gate.decide(w.candidate, self._verdict(w, final=True))
        for early in self._early.values():
            early.withdraw()
        self._waiting, self._early = [], {}
        self._deferred = []
        if self._confirmations is not None:
            self._confirmations.close()

    def _consider(self, candidates: list[Candidate]) -> None:
        for c in candidates:
            early = self._early.pop((c.type, c.utterance_ids), None)
            self._waiting.append(replace(early, candidate=c) if early else self._submit(c))

    def _submit(self, c: Candidate) -> _Waiting:
        wants_llm = TAXONOMY[c.type].llm_confirms and c.exchange is not None
        if wants_llm and self.settings.sure_skips_llm:
            wants_llm = c.confidence < self.gate.threshold(c.type) + self.gate.settings.unconfirmed_margin
        future = self._confirmations.submit(c.type, c.exchange or "") if wants_llm and self._confirmations else None
        return _Waiting(c, future, self._now_ns())

    def _confirm_held(self) -> None:
        """Start confirming what a detector holds back; forget what it dropped (someone else answered)."""
        held = {(c.type, c.utterance_ids): c for c in self._semantic_types.held()}
        for key in set(self._early) - set(held):
            self._early.pop(key).withdraw()
        for key, c in held.items():
            if key not in self._early:
                self._early[key] = self._submit(c)

    def _release(self, now_s: float, rep_speaking: bool) -> list[FiredNudge]:
        fired: list[GateDecision] = []
        for w in list(self._waiting):
            timed_out = self._now_ns() - w.since_ns >= self.settings.confirm_timeout_s * 1e9
            if w.verdict is not None and not w.verdict.done() and not timed_out:
                continue
            self._waiting.remove(w)
            decision = self.gate.decide(w.candidate, self._verdict(w, final=timed_out))
            if decision.fired:
                fired.append(decision)
        out = []
        for decision in fired:
            wait = TAXONOMY[decision.candidate.type].can_wait_s
            if rep_speaking and wait > 0:
                self._deferred.append((decision, now_s + wait))
            else:
                out.append(self._nudge(decision, now_s))
        for decision, until_s in list(self._deferred):
            if not rep_speaking or now_s >= until_s:
                self._deferred.remove((decision, until_s))
                out.append(self._nudge(decision, now_s))
        return out

    def _verdict(self, w: _Waiting, final: bool) -> Verdict | None:
        if w.verdict is None or not w.verdict.done():
            if w.verdict is not None and final:
                w.verdict.cancel()
            return None
        try:
            return w.verdict.result()
        except Exception:  # a failed confirmation counts as none given: the stricter threshold applies
            self.llm_errors += 1
            return None

    def _nudge(self, decision: GateDecision, now_s: float) -> FiredNudge:
        c = decision.candidate
        moment = Moment(c.type.value, self.call_id, c.utterance_ids, round(decision.confidence, 3), c.at_s)
        deadline = self._now_ns() + int(self.settings.nudge_expiry_s * 1e9)
        return FiredNudge(Nudge(moment, TAXONOMY[c.type].pattern, deadline), decision, max(now_s, c.at_s))
