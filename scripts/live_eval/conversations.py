"""Labelled conversations for the live-coach evaluation: the corpus JSON as utterances on a timeline.

Times come from the conversation itself when it has them (a rendered copy from
``scripts/render_corpus.py``), else from the rendered copy in the corpus directory, else they are
estimated from the words (a steady 2.7 words per second, the rendered corpus's own rate, with short
gaps, overlapping backchannels and interruptions, and the written pauses).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from edge.frames import Role, Utterance

WORDS_PER_S = 2.7
GAP_S = 0.35
OVERLAP_S = 0.5


@dataclass(frozen=True)
class LabelledMoment:
    type: str
    utterance_id: str
    start_s: float
    end_s: float
    """Of the labelled utterance."""


@dataclass(frozen=True)
class Conversation:
    id: str
    trade: str
    utterances: tuple[Utterance, ...]
    """In start order, roles and times as labelled (speaker confidence 1: the text mode's attribution is exact)."""
    moments: tuple[LabelledMoment, ...]
    timed_by: str
    """"labels" (rendered times) or "estimate"."""

    @property
    def duration_s(self) -> float:
        return max(u.end_s for u in self.utterances)


def load(path: Path, rendered_dir: Path | None = None) -> Conversation:
    call = json.loads(path.read_text())
    timed_by = "labels"
    if call["utterances"][0].get("start_s") is None:
        rendered = rendered_dir / f"{call['id']}.json" if rendered_dir else None
        if rendered is not None and rendered.is_file():
            call = json.loads(rendered.read_text()) | {"moments": call["moments"]}
        else:
            _estimate_times(call["utterances"])
            timed_by = "estimate"
    roles = {s["id"]: Role(s["role"]) for s in call["speakers"]}
    utterances = tuple(
        sorted(
            (
                Utterance(
                    u["id"],
                    call["id"],
                    u["speaker"],
                    roles[u["speaker"]],
                    u["start_s"],
                    u["end_s"],
                    u["text"],
                    1.0,
                    1.0,
                )
                for u in call["utterances"]
            ),
            key=lambda u: (u.start_s, u.id),
        )
    )
    by_id = {u.id: u for u in utterances}
    moments = tuple(
        LabelledMoment(m["type"], m["utterance"], by_id[m["utterance"]].start_s, by_id[m["utterance"]].end_s)
        for m in call["moments"]
    )
    return Conversation(call["id"], call["trade"], utterances, moments, timed_by)


def _estimate_times(utterances: list[dict[str, object]]) -> None:
    end = 1.0
    for u in utterances:
        duration = 0.35 + len(str(u["text"]).split()) / WORDS_PER_S
        pause = float(u.get("pause_before_s") or 0.0)  # type: ignore[arg-type]
        overlaps = u.get("backchannel") or u.get("interrupts")
        start = max(0.0, end - OVERLAP_S) if overlaps else end + GAP_S + pause
        u["start_s"], u["end_s"] = round(start, 3), round(start + duration, 3)
        if not u.get("backchannel"):
            end = start + duration
