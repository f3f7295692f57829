"""The gate: which candidates become nudges. Alert fatigue kills live coaching, so it says no often.

Per type: a confidence threshold (raised when the LLM could not confirm) and a cooldown; per call: a
budget of nudges. Every candidate is logged with the reason it fired or not, so a manager (or an
eval) can see what the coach held back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.coach.detectors import Candidate
from edge.coach.taxonomy import TAXONOMY, MomentType

NONE = "none"
"""The LLM's answer when the exchange is none of the asked-about types."""


@dataclass(frozen=True)
class GateSettings:
    budget_per_call: int = 8
    """Nudges one call may get, whatever happens."""
    unconfirmed_margin: float = 0.25
    """Added to the threshold of a type that wants the LLM's confirmation when the LLM gave none."""
    llm_yes_probability: float = 0.65
    """The LLM's odds for the candidate's label (against "none") that count as its yes. On the 24 dev calls
    every real decision-maker deferral and competitor mention the fast stage proposed got 0.68 or more; 9 of
    the 12 that were not got less (0.19-0.53), two of them (0.52, 0.53) above an even 0.5."""
    cue_yes_probability: float = 0.35
    """The same for a candidate one of its type's cue phrases proposed ("she's gotta sign off on it"): the LLM
    then only vetoes what it is fairly sure is none. On the 32 dev calls, transcripts and kitchen audio, 31 of
    the 33 cue-proposed deferrals and competitor mentions the LLM was asked about were real (the other two
    repeated one already nudged); the LLM gave three real ones on room audio 0.37, 0.43 and 0.61 ("She's got
    a sign off on it." read among a daughter's "Mom, just do it.")."""
    uncued_yes_probability: dict[str, float] = field(default_factory=lambda: {"competitor_mentioned": 0.8})
    """Types whose candidates no cue phrase proposed need the LLM surer than ``llm_yes_probability``. Talk of
    the neighbour's roof, an electrician in the attic or a brother-in-law's brand comes near the competitor
    examples: of the six false nudges such mentions made on the 40 dev calls (transcripts and kitchen audio),
    the LLM had said yes to four at 0.72-0.79 (the others 0.86 and 0.98), while every real mention only the
    exemplars proposed got 0.84 or more."""
    confirmed_weight: float = 0.5
    """Share of a confirmed candidate's confidence that the LLM's yes carries (the rest is the fast stage's)."""
    thresholds: dict[str, float] = field(default_factory=dict)
    """Per-type overrides of the taxonomy's thresholds (type name → 0-1)."""


@dataclass(frozen=True)
class Verdict:
    """The LLM's label for a candidate's exchange."""

    label: str
    seconds: float
    probability: float | None = None
    """The model's odds for the asked-about label against "none", when it gave them."""


@dataclass(frozen=True)
class GateDecision:
    candidate: Candidate
    fired: bool
    why: str
    confidence: float
    """After the LLM's say."""
    verdict: Verdict | None


class Gate:
    def __init__(self, settings: GateSettings | None = None) -> None:
        self.settings = settings or GateSettings()
        self.log: list[GateDecision] = []
        self._last_fired_s: dict[MomentType, float] = {}
        self._fired = 0

    def threshold(self, t: MomentType) -> float:
        return self.settings.thresholds.get(t.value, TAXONOMY[t].threshold)

    def decide(self, candidate: Candidate, verdict: Verdict | None) -> GateDecision:
        decision = self._decide(candidate, verdict)
        self.log.append(decision)
        if decision.fired:
            self._fired += 1
            self._last_fired_s[candidate.type] = candidate.at_s
        return decision

    def _decide(self, c: Candidate, verdict: Verdict | None) -> GateDecision:
        s = self.settings
        threshold, confidence = self.threshold(c.type), c.confidence
        if TAXONOMY[c.type].llm_confirms:
            bar = s.cue_yes_probability if c.cue else s.uncued_yes_probability.get(c.type.value, s.llm_yes_probability)
            if verdict is None:
                threshold += s.unconfirmed_margin
            elif verdict.probability is None and verdict.label != c.type.value:
                return GateDecision(c, False, f"LLM says {verdict.label}", confidence, verdict)
            elif verdict.probability is not None and verdict.probability < bar:
                said = "says none" if verdict.label != c.type.value else "unsure"
                why = f"LLM {said} ({verdict.probability:.2f} < {bar})"
                return GateDecision(c, False, why, confidence, verdict)
            else:
                confidence = s.confirmed_weight + (1 - s.confirmed_weight) * confidence
        if confidence < threshold:
            return GateDecision(c, False, f"confidence {confidence:.2f} < {threshold:.2f}", confidence, verdict)
        last = self._last_fired_s.get(c.type)
        if last is not None and c.at_s - last < TAXONOMY[c.type].cooldown_s:
            return GateDecision(c, False, f"cooldown ({c.at_s - last:.0f} s since the last)", confidence, verdict)
        if self._fired >= s.budget_per_call:
            return GateDecision(c, False, "call's nudge budget spent", confidence, verdict)
        return GateDecision(c, True, "fired", confidence, verdict)
