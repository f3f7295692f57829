"""The rubric: a tenant's sales steps, in order, with what each looks like and how it is scored.

``RubricContent`` is what an author writes or an extraction proposes; ``Rubric`` is one immutable,
numbered version of it in a tenant's history (``store``). Validation errors name the step and the
rule, so a hand-edited JSON file or a model's output can be fixed from the message alone.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

StepId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
"""A step's id: lowercase words joined by underscores ("load_calculation"). Ids are the contract between
rubrics, the corpus labels and the live coach: a step with the same id is the same step."""

WEIGHT_TOLERANCE = 1e-6


class RubricStep(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: StepId
    name: str = Field(min_length=1, max_length=80)
    description: str = Field(min_length=1, max_length=600)
    examples: tuple[str, ...] = ()
    """Things a rep says when doing the step well."""
    required: bool = True
    before_price: bool = False
    """A good rep covers this before stating a price (the live coach checks it)."""
    after: tuple[StepId, ...] = ()
    """Steps that must come before this one (beyond the list order, which is the recommended order)."""
    weight: float = Field(gt=0, le=1)
    """Share of the call's score; a rubric's weights sum to 1."""
    guidance: str = ""
    """How a reviewer (or the deep dive) scores the step: what full marks and a miss look like."""
    source_quote: str | None = None
    """The playbook passage this step came from, verbatim, when it was extracted from one."""


class RubricContent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1, max_length=120)
    trade: str = Field(min_length=1, max_length=40)
    steps: tuple[RubricStep, ...] = Field(min_length=1, max_length=40)

    @model_validator(mode="after")
    def _consistent(self) -> RubricContent:
        ids = [s.id for s in self.steps]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate step ids: {', '.join(duplicates)} (each step needs its own id)")
        position = {step_id: n for n, step_id in enumerate(ids)}
        for step in self.steps:
            for before in step.after:
                if before not in position:
                    raise ValueError(f"step {step.id!r} must come after {before!r}, which is not a step of this rubric")
                if before == step.id:
                    raise ValueError(f"step {step.id!r} cannot come after itself")
                if position[before] > position[step.id]:
                    raise ValueError(
                        f"step {step.id!r} must come after {before!r} but is listed before it: "
                        "list the steps in the order they should happen"
                    )
        total = sum(s.weight for s in self.steps)
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            raise ValueError(f"step weights sum to {total:.4f}; they must sum to 1 (use normalised_weights)")
        return self

    def step(self, step_id: str) -> RubricStep:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    @property
    def before_price_steps(self) -> tuple[RubricStep, ...]:
        return tuple(s for s in self.steps if s.before_price and s.required)

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON: two versions with the same content have the same fingerprint."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def normalised_weights(steps: list[dict[str, object]]) -> list[dict[str, object]]:
    """Steps (as dicts) with weights scaled to sum to 1; a missing or non-positive weight counts as 1.
    For drafts (an extraction, a hand-written list) before they are validated."""
    raw = [float(w) if isinstance(w := s.get("weight"), int | float) and w > 0 else 1.0 for s in steps]
    total = sum(raw)
    weights = [round(w / total, 6) for w in raw]
    if weights:
        weights[-1] = round(1.0 - sum(weights[:-1]), 6)  # rounding must not break the sum
    return [{**s, "weight": w} for s, w in zip(steps, weights, strict=True)]


class Rubric(BaseModel):
    """One immutable version of a tenant's rubric."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    version: int = Field(ge=1)
    parent_version: int | None = None
    author: str = Field(min_length=1)
    created_at: datetime
    source_sha256: str | None = None
    """sha256 of the playbook it was extracted from, if it was."""
    note: str = ""
    """What changed and why (the author's, at creation)."""
    content: RubricContent

    @property
    def ref(self) -> str:
        """ "tenant@version", as pinned on a call."""
        return f"{self.tenant}@{self.version}"
