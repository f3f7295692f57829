"""Scoring nudges against labelled moments.

A nudge catches a labelled moment of its type if it fires between the start of the labelled
utterance (less the type's ``lead_s``: a talk ratio or a 150-word run crosses its bar around a turn, not
at one) and
``hit_window_s`` (the taxonomy's, per type) after its end. Each moment is caught at
most once and each nudge catches at most one moment (earliest first); every nudge that catches
nothing is a false nudge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from edge.coach.taxonomy import TAXONOMY, MomentType
from scripts.live_eval.conversations import LabelledMoment


@dataclass(frozen=True)
class FiredAt:
    type: str
    fire_s: float
    """Audio time the nudge was sent."""
    latency_s: float
    """From the moment it became decidable (its triggering utterance's end, or its deadline) to sent."""
    reason: str = ""


@dataclass
class TypeCounts:
    moments: int = 0
    nudges: int = 0
    caught: int = 0
    """Moments caught, which is also the nudges that caught one: each nudge catches at most one moment."""
    latencies_s: list[float] = field(default_factory=list)
    """Each nudge's latency (``FiredAt.latency_s``)."""

    @property
    def precision(self) -> float | None:
        return self.caught / self.nudges if self.nudges else None

    @property
    def recall(self) -> float | None:
        return self.caught / self.moments if self.moments else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)


@dataclass
class Score:
    per_type: dict[str, TypeCounts] = field(default_factory=lambda: {t.value: TypeCounts() for t in MomentType})
    false_nudges: list[tuple[str, FiredAt]] = field(default_factory=list)
    missed: list[tuple[str, LabelledMoment]] = field(default_factory=list)

    def add(self, call_id: str, moments: Sequence[LabelledMoment], nudges: Sequence[FiredAt]) -> None:
        free = sorted(nudges, key=lambda n: n.fire_s)
        for m in sorted(moments, key=lambda m: m.start_s):
            counts = self.per_type[m.type]
            counts.moments += 1
            definition = TAXONOMY[MomentType(m.type)]
            window_start, window_end = m.start_s - definition.lead_s, m.end_s + definition.hit_window_s
            hit = next((n for n in free if n.type == m.type and window_start <= n.fire_s <= window_end), None)
            if hit is None:
                self.missed.append((call_id, m))
                continue
            free.remove(hit)
            counts.caught += 1
        for n in nudges:
            self.per_type[n.type].nudges += 1
            self.per_type[n.type].latencies_s.append(n.latency_s)
        self.false_nudges += [(call_id, n) for n in free]

    def overall(self) -> TypeCounts:
        total = TypeCounts()
        for c in self.per_type.values():
            total.moments += c.moments
            total.nudges += c.nudges
            total.caught += c.caught
        return total
