"""Frame-level speaker activity → runs of one speaker: where turns change inside a stretch of speech."""

from __future__ import annotations

import itertools
from typing import Protocol

import numpy as np

from models.segmentation import SpeakerActivity


class ActivityModel(Protocol):
    """Frame-level speaker activity of a stretch of audio (``models.segmentation.SpeakerSegmentation``)."""

    def activity(self, samples: np.ndarray) -> SpeakerActivity: ...


def speaker_runs(
    probabilities: np.ndarray,
    times_s: np.ndarray,
    start_s: float,
    end_s: float,
    threshold: float,
    min_run_s: float,
) -> list[tuple[float, float, int]]:
    """The stretch [start_s, end_s) as consecutive (start_s, end_s, local speaker) runs that tile it.

    Each frame goes to the most likely local speaker when any is above ``threshold``; pauses belong to
    whoever spoke before them (at the very start, to whoever speaks first). Runs shorter than
    ``min_run_s`` join a neighbour: a cough or a one-frame flicker is not a turn. Cuts fall midway
    between the last frame of one run and the first of the next."""
    inside = (times_s >= start_s) & (times_s < end_s)
    if not inside.any():
        return [(start_s, end_s, int(np.argmax(probabilities.mean(axis=0))))]
    p, t = probabilities[inside], times_s[inside]
    owner = np.where(p.max(axis=1) > threshold, p.argmax(axis=1), -1)
    if (owner < 0).all():
        owner[:] = int(np.argmax(p.mean(axis=0)))
    index = np.maximum.accumulate(np.where(owner >= 0, np.arange(len(owner)), -1))
    first = int(np.flatnonzero(owner >= 0)[0])
    owner = np.where(index >= 0, owner[np.maximum(index, 0)], owner[first])
    runs: list[list[float]] = []
    for k, group in itertools.groupby(range(len(owner)), key=lambda i: int(owner[i])):
        idx = list(group)
        runs.append([float(t[idx[0]]), float(t[idx[-1]]), float(k)])
    merged: list[list[float]] = []
    for run in runs:
        short = run[1] - run[0] < min_run_s
        if merged and (short or merged[-1][2] == run[2]):
            merged[-1][1] = run[1]
        elif merged and merged[-1][1] - merged[-1][0] < min_run_s:
            run[0] = merged[-1][0]  # a short first run joins the run after it
            merged[-1] = run
        else:
            merged.append(run)
    cuts = [start_s] + [(a[1] + b[0]) / 2 for a, b in itertools.pairwise(merged)] + [end_s]
    return [(cuts[i], cuts[i + 1], int(run[2])) for i, run in enumerate(merged) if cuts[i + 1] > cuts[i]]
