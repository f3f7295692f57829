"""What changed between two rubric contents, step by step: what an author reviews before activating."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rubric_cache.schema import RubricContent, RubricStep


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: object
    new: object


@dataclass(frozen=True)
class StepChange:
    step_id: str
    kind: ChangeKind
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class RubricDiff:
    header: tuple[FieldChange, ...]
    """Title and trade."""
    steps: tuple[StepChange, ...]
    order_changed: bool
    """The steps both versions share are listed in a different order."""

    @property
    def empty(self) -> bool:
        return not (self.header or self.steps or self.order_changed)

    def render(self) -> str:
        if self.empty:
            return "no changes"
        lines = [f"~ {c.field}: {c.old!r} → {c.new!r}" for c in self.header]
        for change in self.steps:
            if change.kind == ChangeKind.ADDED:
                lines.append(f"+ step {change.step_id}")
            elif change.kind == ChangeKind.REMOVED:
                lines.append(f"- step {change.step_id}")
            else:
                lines.append(f"~ step {change.step_id}")
            lines += [f"    {f.field}: {_short(f.old)} → {_short(f.new)}" for f in change.fields]
        if self.order_changed:
            lines.append("↕ the shared steps are in a different order")
        return "\n".join(lines)


def _short(value: object, limit: int = 100) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fields(old: RubricStep, new: RubricStep) -> tuple[FieldChange, ...]:
    a, b = old.model_dump(), new.model_dump()
    return tuple(FieldChange(k, a[k], b[k]) for k in a if a[k] != b[k])


def diff(old: RubricContent | None, new: RubricContent) -> RubricDiff:
    """``old`` None: everything in ``new`` is added (a tenant's first version)."""
    header: tuple[FieldChange, ...] = ()
    old_steps: dict[str, RubricStep] = {}
    if old is not None:
        header = tuple(
            FieldChange(name, getattr(old, name), getattr(new, name))
            for name in ("title", "trade")
            if getattr(old, name) != getattr(new, name)
        )
        old_steps = {s.id: s for s in old.steps}
    new_steps = {s.id: s for s in new.steps}
    changes = [StepChange(s.id, ChangeKind.REMOVED) for s in old_steps.values() if s.id not in new_steps]
    for step in new.steps:
        before = old_steps.get(step.id)
        if before is None:
            changes.append(StepChange(step.id, ChangeKind.ADDED))
        elif fields := _fields(before, step):
            changes.append(StepChange(step.id, ChangeKind.CHANGED, fields))
    shared_old = [i for i in old_steps if i in new_steps]
    shared_new = [i for i in new_steps if i in old_steps]
    return RubricDiff(header, tuple(changes), shared_old != shared_new)
