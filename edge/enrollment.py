"""Rep enrollment: a clip of the rep talking → a voiceprint, kept in the call store's file.

Only the speech is used (silence embeds as noise), in consecutive windows whose mean is the
voiceprint. A clip whose windows disagree with each other holds more than one voice, or too much
noise, and is refused: a wrong voiceprint would label the customer as the rep all call long.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from edge.attribution import Embedder
from edge.call_store import CallStore, CallStoreError
from edge.frames import AudioChunk
from edge.segmenter import SpeechSegmenter
from edge.voices import unit


@dataclass(frozen=True)
class EnrollmentSettings:
    min_speech_s: float = 8.0
    """Less speech (seconds) than this gives a voiceprint too unstable to trust."""
    window_s: float = 2.0
    """Length of each embedded stretch of speech (seconds)."""
    min_consistency: float = 0.5
    """Mean cosine similarity of the windows to their mean below which the clip is refused."""


class EnrollmentError(Exception):
    """The clip cannot give a voiceprint; the message says what to record instead."""


class UnknownRepError(CallStoreError):
    def __init__(self, rep_id: str, known: list[str]) -> None:
        hint = f"enrolled: {', '.join(known)}" if known else "no rep is enrolled yet"
        super().__init__(f"rep {rep_id!r} is not enrolled ({hint}); run `ridealong enroll --rep {rep_id} --wav FILE`")
        self.rep_id = rep_id


@dataclass(frozen=True)
class Voiceprint:
    rep_id: str
    embedding: np.ndarray
    model: str
    speech_s: float
    consistency: float
    """Mean cosine similarity of the clip's windows to the voiceprint (1.0: perfectly steady)."""
    source: str
    created_at: str


def make_voiceprint(
    rep_id: str,
    samples: np.ndarray,
    rate_hz: int,
    segmenter: SpeechSegmenter,
    embedder: Embedder,
    model: str,
    source: str,
    settings: EnrollmentSettings | None = None,
) -> Voiceprint:
    s = settings or EnrollmentSettings()
    speech = [seg.samples for seg in segmenter.process(AudioChunk(samples, rate_hz, 0, 0))]
    speech += [seg.samples for seg in segmenter.flush()]
    joined = np.concatenate(speech) if speech else np.zeros(0, dtype=np.float32)
    speech_s = len(joined) / rate_hz
    if speech_s < s.min_speech_s:
        raise EnrollmentError(
            f"the clip has {speech_s:.1f} s of speech; record at least {s.min_speech_s:.0f} s of the rep "
            "talking alone, close to the device"
        )
    window = int(s.window_s * rate_hz)
    windows = [joined[i : i + window] for i in range(0, len(joined) - window // 2, window)]
    vectors = np.stack([unit(embedder.embed(w, rate_hz)) for w in windows])
    voiceprint = unit(vectors.mean(axis=0))
    consistency = float((vectors @ voiceprint).mean())
    if consistency < s.min_consistency:
        raise EnrollmentError(
            f"the clip does not sound like one steady voice (consistency {consistency:.2f} < "
            f"{s.min_consistency}); record the rep alone, without music or other speakers"
        )
    return Voiceprint(
        rep_id=rep_id,
        embedding=voiceprint.astype(np.float32),
        model=model,
        speech_s=round(speech_s, 2),
        consistency=round(consistency, 3),
        source=source,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


class VoiceprintBook:
    """Voiceprints in the call store's SQLite file (one file to back up, one to wipe)."""

    def __init__(self, store: CallStore) -> None:
        self._table = store.db.table("voiceprints")

    def save(self, voiceprint: Voiceprint) -> None:
        self._table.upsert(
            {"rep_id": voiceprint.rep_id, "embedding": voiceprint.embedding.astype("<f4").tobytes(),
             "dim": len(voiceprint.embedding), "model": voiceprint.model, "speech_s": voiceprint.speech_s,
             "consistency": voiceprint.consistency, "source": voiceprint.source,
             "created_at": voiceprint.created_at},
            pk="rep_id",
        )  # fmt: skip

    def get(self, rep_id: str) -> Voiceprint:
        rows = list(self._table.rows_where("rep_id = ?", [rep_id]))
        if not rows:
            raise UnknownRepError(rep_id, self.reps())
        row = rows[0]
        return Voiceprint(
            rep_id=row["rep_id"],
            embedding=np.frombuffer(row["embedding"], dtype="<f4").copy(),
            model=row["model"],
            speech_s=row["speech_s"],
            consistency=row["consistency"],
            source=row["source"],
            created_at=row["created_at"],
        )

    def reps(self) -> list[str]:
        return [row["rep_id"] for row in self._table.rows_where(order_by="rep_id")]
