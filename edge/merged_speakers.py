"""Reconcile the offline clustering with the online pass: pick the clustering that agrees with it, and
undo merges of voices it told apart.

The offline diarizer clusters either by a distance threshold or to a known count of speakers; which
does better depends on the call (a forced count helps the AMI meeting, hurts the home-services
calls, where the threshold leaves a few tiny extra clusters that cost little). The online pass is
independent evidence of who spoke when, so the clustering whose speakers line up best with its
speakers (the F-measure of purity and coverage, by talk time) is kept.

On far-field audio (the AMI dev00 excerpt) the offline diarizer can put two people into one
cluster even when told how many there are, while the online pass, deciding window by window with
continuity, kept them apart. A diarized speaker whose speech is the main home of two or more
online speakers is such a merge: its turns are split along the online utterances, each extra
online speaker becoming a diarized speaker of its own. Everything downstream (naming, re-cutting,
overlaps) then works on the refined turns.
"""

from __future__ import annotations

from collections import defaultdict

from edge.frames import Utterance
from models.speaker import DiarizedTurn


def _shared_time(turns: list[DiarizedTurn], online: list[Utterance]) -> dict[int, dict[str, float]]:
    """Diarized speaker → online speaker id → seconds both say were talking."""
    shared: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for turn in turns:
        for u in online:
            overlap = min(turn.end_s, u.end_s) - max(turn.start_s, u.start_s)
            if overlap > 0:
                shared[turn.speaker][u.speaker_id] += overlap
    return shared


def agreement(turns: list[DiarizedTurn], online: list[Utterance]) -> float:
    """0-1: how well the diarized speakers line up with the online pass's (F-measure of purity and coverage)."""
    shared = _shared_time(turns, online)
    total = sum(sum(row.values()) for row in shared.values())
    if total <= 0:
        return 0.0
    purity = sum(max(row.values()) for row in shared.values()) / total
    by_online: dict[str, dict[int, float]] = defaultdict(dict)
    for cluster, row in shared.items():
        for speaker, seconds in row.items():
            by_online[speaker][cluster] = seconds
    coverage = sum(max(row.values()) for row in by_online.values()) / total
    return 2 * purity * coverage / (purity + coverage)


def split_merged_speakers(
    turns: list[DiarizedTurn], online: list[Utterance], min_speaker_s: float
) -> list[DiarizedTurn]:
    shared = _shared_time(turns, online)
    home: dict[str, int] = {}
    for speaker in {u.speaker_id for u in online}:
        held = {c: s[speaker] for c, s in shared.items() if s.get(speaker, 0.0) >= min_speaker_s}
        if held:
            home[speaker] = max(held, key=lambda c: held[c])
    next_id = max((t.speaker for t in turns), default=-1) + 1
    moved: dict[int, dict[str, int]] = {}  # merged cluster → online id split off → its new cluster
    for cluster in sorted(shared):
        homed = sorted((o for o, c in home.items() if c == cluster), key=lambda o: -shared[cluster][o])
        if len(homed) >= 2:
            moved[cluster] = {}
            for speaker in homed[1:]:
                moved[cluster][speaker] = next_id
                next_id += 1
    if not moved:
        return turns
    out = []
    for turn in turns:
        if turn.speaker not in moved:
            out.append(turn)
            continue
        cuts = sorted(
            (max(u.start_s, turn.start_s), min(u.end_s, turn.end_s), moved[turn.speaker][u.speaker_id])
            for u in online
            if u.speaker_id in moved[turn.speaker] and u.end_s > turn.start_s and u.start_s < turn.end_s
        )
        at = turn.start_s
        for start, end, cluster in cuts:
            if start > at:
                out.append(DiarizedTurn(at, start, turn.speaker))
            out.append(DiarizedTurn(start, end, cluster))
            at = max(at, end)
        if at < turn.end_s:
            out.append(DiarizedTurn(at, turn.end_s, turn.speaker))
    return sorted(out, key=lambda t: t.start_s)
