"""Corpus calls as the cloud receives them: a manifest whose utterances are the call's labelled lines,
timed at a speaking pace, with a short silent audio track (search and reports need the words; the
audio's content does not matter to them)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from cloud_sync.contract import AudioManifest, CallManifest, WireUtterance
from rubric_cache.starter import starter_rubric
from scripts.corpus.schema import Call

SECONDS_PER_WORD = 0.4
_RATE = 16_000


def corpus_manifest(call: Call, rep_id: str, call_id: str | None = None) -> tuple[CallManifest, bytes]:
    """The call pinned to its trade's starter rubric, as a device with no tenant rubric pins it."""
    audio = bytes(2 * _RATE)  # one second of silence, pcm_s16le
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
