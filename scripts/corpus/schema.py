"""The conversation format of the evaluation corpus (documented in tests/corpus/README.md).

One JSON file per call. Labels are exact by construction: the writer marks which utterance makes
each moment detectable; the renderer adds the times.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge.coach.taxonomy import MomentType
from scripts.corpus.trades import TRADES, before_price_steps, step_ids

Role = Literal["rep", "customer", "other"]
Trade = Literal["hvac", "roofing", "solar", "pest_control"]
CUSTOMER_SIDE_MOMENTS = {
    MomentType.PRICE_OBJECTION_UNADDRESSED,
    MomentType.QUESTION_UNANSWERED,
    MomentType.DECISION_MAKER_OBJECTION,
    MomentType.COMPETITOR_MENTIONED,
    MomentType.BUYING_SIGNAL,
}
REP_SIDE_MOMENTS = {
    MomentType.REP_MONOLOGUE,
    MomentType.STEP_SKIPPED_BEFORE_PRICE,
    MomentType.REP_INTERRUPTING,
    MomentType.NO_NEXT_STEP,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Speaker(_Strict):
    id: str
    role: Role
    name: str
    sex: Literal["male", "female"]


class Utterance(_Strict):
    id: str
    speaker: str
    text: str = Field(min_length=1)
    interrupts: bool = False
    """Starts before the previous speaker has finished (the previous text ends with '—')."""
    backchannel: bool = False
    """A short 'mm-hm' / 'yeah' laid over the previous speaker's turn, not a turn of its own."""
    pause_before_s: float | None = Field(default=None, ge=0.0, le=30.0)
    """A longer silence before this utterance (walking to the attic, reading a quote)."""
    start_s: float | None = None
    end_s: float | None = None


class MomentLabel(_Strict):
    type: MomentType
    utterance: str
    note: str
    skipped_step: str | None = None
    """For step_skipped_before_price: the rubric step the rep skipped."""


class NearMiss(_Strict):
    type: MomentType
    utterance: str
    note: str


class RubricLabel(_Strict):
    covered: list[str]
    skipped: list[str]


class Call(_Strict):
    id: str
    tenant: str
    trade: Trade
    title: str
    scenario: str
    outcome: Literal["closed", "follow_up_scheduled", "no_decision", "lost"]
    speakers: list[Speaker]
    utterances: list[Utterance]
    moments: list[MomentLabel]
    near_misses: list[NearMiss]
    rubric: RubricLabel

    @model_validator(mode="after")
    def _consistent(self) -> Call:
        speakers = {s.id: s for s in self.speakers}
        if len(speakers) != len(self.speakers):
            raise ValueError("duplicate speaker ids")
        if [s.role for s in self.speakers].count("rep") != 1:
            raise ValueError("a call has exactly one rep")
        ids = [u.id for u in self.utterances]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate utterance ids: {[i for i, n in Counter(ids).items() if n > 1]}")
        by_id = {u.id: u for u in self.utterances}
        for u in self.utterances:
            if u.speaker not in speakers:
                raise ValueError(f"utterance {u.id}: unknown speaker {u.speaker!r}")
        for label in [*self.moments, *self.near_misses]:
            if label.utterance not in by_id:
                raise ValueError(f"{label.type}: unknown utterance {label.utterance!r}")
            role = speakers[by_id[label.utterance].speaker].role
            if label.type in CUSTOMER_SIDE_MOMENTS and role == "rep":
                raise ValueError(f"{label.type} at {label.utterance} must be a customer-side utterance")
            if label.type in REP_SIDE_MOMENTS and role != "rep":
                raise ValueError(f"{label.type} at {label.utterance} must be a rep utterance")
        self._check_rubric()
        return self

    def _check_rubric(self) -> None:
        steps = set(step_ids(self.trade))
        covered, skipped = set(self.rubric.covered), set(self.rubric.skipped)
        if covered & skipped or covered | skipped != steps:
            raise ValueError(f"rubric covered + skipped must partition the {self.trade} steps {sorted(steps)}")
        for m in self.moments:
            if m.type == MomentType.STEP_SKIPPED_BEFORE_PRICE and (
                m.skipped_step not in before_price_steps(self.trade) or m.skipped_step not in skipped
            ):
                raise ValueError(f"step_skipped_before_price needs a skipped before-price step, got {m.skipped_step}")

    def role_of(self, speaker_id: str) -> Role:
        return next(s.role for s in self.speakers if s.id == speaker_id)

    def word_count(self) -> int:
        return sum(len(u.text.split()) for u in self.utterances)


CORPUS_DIR = Path(__file__).resolve().parents[2] / "tests" / "corpus"


def load_call(path: Path) -> Call:
    return Call.model_validate_json(path.read_text())


def load_split(split: str, corpus_dir: Path = CORPUS_DIR) -> list[Call]:
    splits: dict[str, list[str]] = json.loads((corpus_dir / "splits.json").read_text())
    return [load_call(corpus_dir / "calls" / f"{call_id}.json") for call_id in splits[split]]


__all__ = ["TRADES", "Call", "MomentLabel", "NearMiss", "Speaker", "Utterance", "load_call", "load_split"]
