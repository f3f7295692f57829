"""Corpus calls as the cloud receives them: a manifest whose utterances are the call's labelled lines,
timed at a speaking pace, with an audio track whose content does not matter (search and reports need
the words; the report page needs something as long as the call to seek in)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import numpy as np

from cloud_sync.contract import AudioManifest, CallManifest, WireUtterance
from rubric_cache.starter import starter_rubric
from scripts.corpus.schema import Call

SECONDS_PER_WORD = 0.4
_RATE = 16_000


def corpus_manifest(
    call: Call, rep_id: str, call_id: str | None = None, full_audio: bool = False
) -> tuple[CallManifest, bytes]:
    """The call pinned to its trade's starter rubric, as a device with no tenant rubric pins it. Its
    audio is one second of silence, or (``full_audio``) quiet noise as long as the call, for a player to
    seek in."""
    utterances = []
    at = 0.0
    for u in call.utterances:
        length = max(0.6, SECONDS_PER_WORD * len(u.text.split()))
        role = call.role_of(u.speaker)
        utterances.append(
            WireUtterance(
                id=u.id,
                speaker_id=u.speaker,
                role=role,
                start_ts=round(at, 2),
                end_ts=round(at + length, 2),
                text=u.text,
                asr_confidence=1.0,
                speaker_confidence=1.0,
            )
        )
        at += length + 0.3
    if full_audio:
        rng = np.random.default_rng(0)
        audio = rng.normal(0, 30, int(at * _RATE)).astype("<i2").tobytes()
    else:
        audio = bytes(2 * _RATE)  # pcm_s16le
    manifest = CallManifest(
        call_id=call_id or call.id,
        rep_id=rep_id,
        source=f"corpus:{call.id}",
        started_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        ended_at=None,
        end_s=round(at, 2),
        rubric_ref=f"starter:{call.trade}@{starter_rubric(call.trade).fingerprint()[:12]}",
        utterances=tuple(utterances),
        audio=AudioManifest(rate_hz=_RATE, bytes=len(audio), sha256=hashlib.sha256(audio).hexdigest()),
    )
    return manifest, audio
