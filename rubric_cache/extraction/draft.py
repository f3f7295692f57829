"""From extracted steps to a validated rubric draft, every step citing a passage of the playbook."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from rubric_cache.errors import ExtractionError, InvalidRubric
from rubric_cache.playbook import Playbook
from rubric_cache.schema import RubricContent, normalised_weights


@dataclass(frozen=True)
class Draft:
    content: RubricContent
    method: str
    """"headed", "local-llm" or "claude"."""
    source_sha256: str


def slug(name: str) -> str:
    words = re.findall(r"[a-z0-9]+", name.lower())
    text = "_".join(words)[:48].strip("_") or "step"
    return text if text[0].isalpha() else f"step_{text}"[:48]


def build_draft(steps: list[dict[str, Any]], playbook: Playbook, title: str, trade: str, method: str) -> Draft:
    """``steps``: dicts with name, description, source_quote and optionally required, before_price,
    examples, guidance, weight. A quote not found in the playbook is an ``ExtractionError``: a
    citation that does not hold is worse than none."""
    if not steps:
        raise ExtractionError(f"no steps were found in {playbook.name}")
    missing = [s.get("name", "?") for s in steps if not playbook.contains(str(s.get("source_quote") or ""))]
    if missing:
        raise ExtractionError(
            f"{len(missing)} step(s) cite text that is not in {playbook.name}: {', '.join(map(str, missing))}"
        )
    used: dict[str, int] = {}
    shaped = []
    for s in steps:
        base = slug(str(s.get("id") or s.get("name") or "step"))
        used[base] = used.get(base, 0) + 1
        step_id = base if used[base] == 1 else f"{base[:45]}_{used[base]}"
        shaped.append(
            {
                "id": step_id,
                "name": str(s.get("name", ""))[:80],
                "description": str(s.get("description") or s.get("name") or "")[:600],
                "examples": tuple(str(e) for e in s.get("examples") or ()),
                "required": bool(s.get("required", True)),
                "before_price": bool(s.get("before_price", False)),
                "weight": s.get("weight"),
                "guidance": str(s.get("guidance") or ""),
                "source_quote": str(s["source_quote"]),
            }
        )
    try:
        content = RubricContent.model_validate({"title": title, "trade": trade, "steps": normalised_weights(shaped)})
    except ValidationError as exc:
        raise InvalidRubric(describe(exc)) from exc
    return Draft(content, method, playbook.sha256)


def describe(exc: ValidationError) -> str:
    """A pydantic error as one line per problem, naming where ("steps.3.weight: ...")."""
    lines = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"]) or "rubric"
        lines.append(f"{where}: {e['msg']}")
    return "invalid rubric:\n  " + "\n  ".join(lines)
