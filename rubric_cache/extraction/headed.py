"""The deterministic parser, for playbooks already written as a headed list of steps:

    ## Sales process
    1. **Greet and set the agenda**: introduce yourself, agree how the visit will go.
    2. **Inspect the attic** (before price): ...

The list (3 or more items) under a heading that names the steps (process, steps, stages, call flow,
agenda, checklist) becomes the rubric, in order; any other list is content, not steps. An item's name
is its bold text or the words before ":" / " - " / " — "; "(optional)" and "before price" in the item
set those flags. Each step cites its item, verbatim.
"""

from __future__ import annotations

import re
from typing import Any

from rubric_cache.errors import ExtractionError
from rubric_cache.extraction.draft import Draft, build_draft
from rubric_cache.playbook import Passage, Playbook

_STEPS_HEADING = re.compile(r"\b(process|steps?|stages?|call flow|agenda|checklist|visit flow|sales flow)\b", re.I)
_BOLD = re.compile(r"^\*\*(.+?)\*\*[\s:.\-—–]*(.*)$")
_SPLIT = re.compile(r"^(.{3,60}?)(?::\s+|\s+[-—–]\s+)(.+)$")
_BEFORE_PRICE = re.compile(r"\bbefore (the )?(price|pricing|quoting|quote|presenting (the )?price)\b", re.I)
_OPTIONAL = re.compile(r"\((optional|if applicable|when relevant)\)", re.I)


def step_list(playbook: Playbook) -> list[Passage] | None:
    """The top-level items of the step list, or None when the playbook has none."""
    passages = playbook.passages()
    runs: list[tuple[str, list[Passage]]] = []
    open_run = False
    for p in passages:
        if p.kind != "item":
            open_run = False  # a heading or a paragraph ends the list
        elif p.depth == 0:
            if open_run:
                runs[-1][1].append(p)
            else:
                runs.append((p.heading, [p]))
                open_run = True
        # nested items belong to the step above them
    named = [items for heading, items in runs if _STEPS_HEADING.search(heading) and len(items) >= 3]
    return max(named, key=len) if named else None


def extract_headed(playbook: Playbook, trade: str, title: str | None = None) -> Draft:
    items = step_list(playbook)
    if items is None:
        raise ExtractionError(
            f"{playbook.name} has no headed list of steps (a list of 3+ items under a heading such as "
            "'Sales process' or 'Steps'); use --method local-llm or claude for a free-form playbook"
        )
    steps: list[dict[str, Any]] = []
    for item in items:
        text = item.text
        if (m := _BOLD.match(text)) or (m := _SPLIT.match(text)):
            name, rest = m.group(1), m.group(2)
        else:
            name, rest = " ".join(text.split()[:6]), text
        steps.append(
            {
                "name": name.strip(" *_`"),
                "description": rest.strip() or text,
                "required": not _OPTIONAL.search(text),
                "before_price": bool(_BEFORE_PRICE.search(text)),
                "source_quote": text,
            }
        )
    return build_draft(steps, playbook, title or items[0].heading or playbook.name, trade, "headed")
