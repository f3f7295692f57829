"""Readers for the reference labels of the shared recordings (RTTM via pyannote, STM by hand:
no library reads STM)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyannote.core import Annotation
from pyannote.database.util import load_rttm


@dataclass(frozen=True)
class StmLine:
    speaker: str
    start_s: float
    end_s: float
    text: str


def read_stm(path: Path) -> list[StmLine]:
    lines = []
    for raw in path.read_text().splitlines():
        cols = raw.split(maxsplit=5)
        if len(cols) == 6 and not raw.startswith(";;"):
            lines.append(StmLine(cols[2], float(cols[3]), float(cols[4]), cols[5]))
    return lines


def read_rttm(path: Path) -> Annotation:
    (annotation,) = load_rttm(str(path)).values()
    return annotation
