"""Sync the call store's outbox to the cloud: each ended call's manifest and audio, until confirmed.

A call leaves the outbox only when the server has checked its audio's sha256; until then it stays
pending through any number of failed attempts (days without signal included), each one noted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cloud_sync.client import Progress, SyncClient, SyncError, SyncRefused
from cloud_sync.contract import AudioManifest, CallManifest, WireNudge, WireUtterance
from edge.call_store import CallStore
from edge.frames import Utterance


@dataclass(frozen=True)
class SyncOutcome:
    synced: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    """(call id, why) for calls left pending."""


def _wire(u: Utterance) -> WireUtterance:
    return WireUtterance(
        id=u.id, speaker_id=u.speaker_id, role=u.role.value, start_ts=u.start_s, end_ts=u.end_s, text=u.text,
        asr_confidence=u.asr_confidence, speaker_confidence=u.speaker_confidence,
    )  # fmt: skip


def call_upload(store: CallStore, call_id: str) -> tuple[CallManifest, bytes]:
    record = store.get(call_id)
    audio = store.audio_pcm16(call_id)
    deliveries = {d["nudge_id"]: d["outcome"] for d in store.nudge_deliveries(call_id)}
    nudges = tuple(
        WireNudge(
            type=n["type"],
            at_s=n["at_s"],
            confidence=n["confidence"],
            utterance_ids=tuple(n["utterance_ids"]),
            pattern=n["pattern"],
            reason=n["reason"],
            delivery=deliveries.get(n["id"]),
        )
        for n in store.nudges(call_id)
    )
    manifest = CallManifest(
        call_id=call_id,
        rep_id=record.rep_id,
        source=record.source,
        started_at=datetime.fromisoformat(record.started_at),
        ended_at=datetime.fromisoformat(record.ended_at) if record.ended_at else None,
        end_s=record.end_s or 0.0,
        rubric_ref=record.rubric_version,
        utterances=tuple(_wire(u) for u in store.utterances(call_id)),
        second_pass=tuple(_wire(u) for u in store.utterances(call_id, "second")),
        nudges=nudges,
        audio=AudioManifest(rate_hz=record.rate_hz, bytes=len(audio), sha256=hashlib.sha256(audio).hexdigest()),
    )
    return manifest, audio


def sync_pending(
    store: CallStore, client: SyncClient, on_progress: Callable[[Progress], None] | None = None
) -> SyncOutcome:
    synced, failed = [], []
    for call_id in store.pending_uploads():
        try:
            manifest, audio = call_upload(store, call_id)
            state = client.upload(manifest, audio, on_progress)
        except SyncRefused as exc:
            store.sync_failed(call_id, str(exc))
            failed.append((call_id, str(exc)))
            if exc.status in (401, 403):
                break  # the token is wrong for every call: stop, say so once
            continue
        except SyncError as exc:
            store.sync_failed(call_id, str(exc))
            failed.append((call_id, str(exc)))
            continue
        assert state.sha256 is not None
        store.mark_synced(call_id, state.sha256)
        synced.append(call_id)
    return SyncOutcome(tuple(synced), tuple(failed))
