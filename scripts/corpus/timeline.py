"""Lay a call's utterances out in time: gaps, pauses, backchannels and talk-over.

The reference times come from where each synthesized utterance is placed, so the labels match
the audio exactly, overlaps included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scripts.corpus.schema import Call
from scripts.corpus.voices import RATE_HZ

LEAD_IN_S = 0.8
TAIL_S = 1.0
# NIST RT convention: a pause of 0.3 s or more inside a turn is not speech, shorter ones are bridged.
MIN_PAUSE_S = 0.3
# The level voices.trim_silence cuts at: a 10 ms frame whose peak stays under it is silence.
SILENCE_PEAK = 1e-3
_FRAME = RATE_HZ // 100


@dataclass(frozen=True)
class Placed:
    utterance_id: str
    speaker_id: str
    start_s: float
    end_s: float


def lay_out(call: Call, audio: dict[str, np.ndarray], rng: np.random.Generator) -> list[Placed]:
    placed: list[Placed] = []
    last_turn: Placed | None = None  # the last utterance that took the floor (not a backchannel)
    cursor = LEAD_IN_S
    for u in call.utterances:
        duration = len(audio[u.id]) / RATE_HZ
        if u.backchannel and last_turn is not None:
            # Laid over the speaker's turn, somewhere in its second half, as listeners do.
            span = last_turn.end_s - last_turn.start_s
            start = last_turn.start_s + span * rng.uniform(0.45, 0.85)
        elif u.interrupts and last_turn is not None:
            # Talks over the last 0.4-0.9 s of the turn being cut off.
            start = max(last_turn.start_s + 0.3, last_turn.end_s - rng.uniform(0.4, 0.9))
        else:
            same_speaker = last_turn is not None and last_turn.speaker_id == u.speaker
            gap = u.pause_before_s if u.pause_before_s is not None else _gap(rng, same_speaker)
            start = cursor + gap
        item = Placed(u.id, u.speaker, round(start, 3), round(start + duration, 3))
        placed.append(item)
        if not u.backchannel:
            last_turn = item
        cursor = max(cursor, item.end_s)
    return placed


def _gap(rng: np.random.Generator, same_speaker: bool) -> float:
    if same_speaker:
        return float(rng.uniform(0.35, 0.7))
    # Turn-taking gaps cluster around 200-300 ms, with a tail of slower answers.
    return float(min(rng.gamma(2.0, 0.15) + 0.08, 1.5))


def speech_spans(placed: Placed, clip: np.ndarray) -> list[tuple[float, float]]:
    """Where in the call a placed utterance is actually voiced: its span, split at internal pauses of
    MIN_PAUSE_S or more (the synthesizer pauses between sentences; those silences are not speech in
    the reference, or a VAD that rightly hears nothing there is charged with missed speech)."""
    frames = len(clip) // _FRAME
    if frames == 0:
        return [(placed.start_s, placed.end_s)]
    silent = np.abs(clip[: frames * _FRAME].reshape(frames, _FRAME)).max(axis=1) <= SILENCE_PEAK
    # Silent runs as [start, end) frame pairs; only those inside the clip and long enough are pauses.
    edges = np.flatnonzero(np.diff(np.concatenate([[0], silent.astype(np.int8), [0]])))
    pauses = [(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True)
              if b - a >= round(MIN_PAUSE_S * 100) and a > 0 and b < frames]  # fmt: skip
    bounds = [0, *(x for pause in pauses for x in pause), frames]
    spans = [(bounds[i] / 100, bounds[i + 1] / 100) for i in range(0, len(bounds), 2)]
    spans[-1] = (spans[-1][0], len(clip) / RATE_HZ)
    return [(round(placed.start_s + a, 3), round(placed.start_s + b, 3)) for a, b in spans]


def speaker_tracks(placed: list[Placed], audio: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], float]:
    """One dry track per speaker over the whole call; returns the tracks and the call duration."""
    duration_s = max(p.end_s for p in placed) + TAIL_S
    n = int(duration_s * RATE_HZ)
    tracks: dict[str, np.ndarray] = {}
    for p in placed:
        track = tracks.setdefault(p.speaker_id, np.zeros(n, dtype=np.float32))
        start = int(p.start_s * RATE_HZ)
        clip = audio[p.utterance_id]
        track[start : start + len(clip)] += clip
    return tracks, duration_s
