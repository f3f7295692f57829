"""The call store: one SQLite file (WAL) written as the call goes, so a crash loses nothing committed.

Every write is its own transaction. In WAL mode a killed process loses no committed transaction;
with ``synchronous=NORMAL`` a power cut can lose the last few, which the pipeline bounds by
committing audio about once a second. On start-up ``recover_interrupted`` closes calls that were
still recording when the process died, keeping everything they had stored.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.frames import Nudge, Role, Utterance
from edge.store_schema import MIGRATIONS


class CallStoreError(Exception):
    """A call-store problem; the message says what to do."""


class UnknownCallError(CallStoreError):
    def __init__(self, call_id: str) -> None:
        super().__init__(f"no call {call_id!r} in the store (see `ridealong calls list`)")
        self.call_id = call_id


class SchemaTooNewError(CallStoreError):
    def __init__(self, path: Path, found: int, known: int) -> None:
        super().__init__(
            f"{path} has schema version {found}, this ridealong knows up to {known}: upgrade ridealong "
            "(the file is left untouched)"
        )


@dataclass(frozen=True)
class CallRecord:
    id: str
    tenant: str
    rep_id: str | None
    source: str
    rate_hz: int
    rubric_version: str | None
    started_at: str
    ended_at: str | None
    end_s: float | None
    status: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class CallStore:
    def __init__(self, path: Path) -> None:
        import sqlite_utils

        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=5.0)
        found = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        if found > len(MIGRATIONS):  # before anything writes to the file, even the journal mode
            self._conn.close()
            raise SchemaTooNewError(path, found, len(MIGRATIONS))
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self.db = sqlite_utils.Database(self._conn)
        self._migrate()

    def close(self) -> None:
        self._conn.close()

    def _migrate(self) -> None:
        version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            # executescript commits on its own; the version bump rides in the same script.
            self._conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    # -- writing ------------------------------------------------------------------------------------
    def start_call(
        self,
        tenant: str,
        source: str,
        rate_hz: int,
        rep_id: str | None = None,
        rubric_version: str | None = None,
    ) -> str:
        call_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        self.db.table("calls").insert(
            {"id": call_id, "tenant": tenant, "rep_id": rep_id, "source": source, "rate_hz": rate_hz,
             "rubric_version": rubric_version, "started_at": _now(), "status": "recording"}
        )  # fmt: skip
        self.log_event(call_id, "call_started", {"source": source})
        return call_id

    def add_audio(self, call_id: str, samples: np.ndarray, start_sample: int) -> int:
        """Append a chunk of mono float32 audio; returns its sequence number."""
        pcm16 = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        row = self._conn.execute(
            "SELECT COALESCE(MAX(seq), -1) + 1 FROM audio_chunks WHERE call_id = ?", (call_id,)
        ).fetchone()
        seq = int(row[0])
        self.db.table("audio_chunks").insert(
            {"call_id": call_id, "seq": seq, "start_sample": start_sample, "pcm16": pcm16}
        )
        return seq

    def add_utterance(self, utterance: Utterance, pass_: str = "online") -> None:
        self.db.table("utterances").upsert(
            {"id": utterance.id, "call_id": utterance.call_id, "pass": pass_, "speaker_id": utterance.speaker_id,
             "role": utterance.role.value, "start_s": utterance.start_s, "end_s": utterance.end_s,
             "text": utterance.text, "asr_confidence": utterance.asr_confidence,
             "speaker_confidence": utterance.speaker_confidence, "overlap_s": utterance.overlap_s},
            pk=("call_id", "pass", "id"),
        )  # fmt: skip

    def save_second_pass(
        self, call_id: str, utterances: list[Utterance], changes: list[tuple[Utterance, Utterance]]
    ) -> None:
        """The second pass's utterances and what it changed, replacing any earlier second pass, atomically."""
        self.get(call_id)
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.execute("DELETE FROM utterances WHERE call_id = ? AND pass = 'second'", (call_id,))
            self._conn.execute("DELETE FROM relabels WHERE call_id = ?", (call_id,))
            # Plain SQL: sqlite-utils commits on its own, which would split this transaction.
            self._conn.executemany(
                "INSERT INTO utterances (id, call_id, pass, speaker_id, role, start_s, end_s, text, asr_confidence,"
                " speaker_confidence, overlap_s) VALUES (?, ?, 'second', ?, ?, ?, ?, ?, ?, ?, ?)",
                [(u.id, call_id, u.speaker_id, u.role.value, u.start_s, u.end_s, u.text, u.asr_confidence,
                  u.speaker_confidence, u.overlap_s) for u in utterances],
            )  # fmt: skip
            self._conn.executemany(
                "INSERT INTO relabels VALUES (?, ?, ?, ?, ?, ?)",
                [(call_id, new.id, old.speaker_id, old.role.value, new.speaker_id, new.role.value)
                 for old, new in changes],
            )  # fmt: skip
        self.log_event(call_id, "second_pass", {"utterances": len(utterances), "changed": len(changes)})

    def relabels(self, call_id: str) -> list[dict[str, Any]]:
        return list(self.db["relabels"].rows_where("call_id = ?", [call_id], order_by="utterance_id"))

    def add_nudge(self, nudge: Nudge, reason: str, latency_s: float | None = None) -> int:
        """Stores a fired nudge; returns its id (the key of its delivery report)."""
        m = nudge.moment
        table = self.db.table("nudges").insert(
            {"call_id": m.call_id, "type": m.type, "utterance_ids": json.dumps(list(m.utterance_ids)),
             "confidence": m.confidence, "at_s": m.at_s, "pattern": nudge.pattern, "reason": reason,
             "latency_s": latency_s, "sent_at": _now()}
        )  # fmt: skip
        assert table.last_rowid is not None
        return int(table.last_rowid)

    def add_nudge_delivery(
        self, call_id: str, nudge_id: int, pattern: str, outcome: str, link: str, latency_s: float, attempts: int,
        error: str | None,
    ) -> None:  # fmt: skip
        self.db.table("nudge_deliveries").insert(
            {"nudge_id": nudge_id, "call_id": call_id, "pattern": pattern, "outcome": outcome, "link": link,
             "latency_s": latency_s, "attempts": attempts, "error": error, "finished_at": _now()}
        )  # fmt: skip

    def nudge_deliveries(self, call_id: str) -> list[dict[str, Any]]:
        return list(self.db["nudge_deliveries"].rows_where("call_id = ?", [call_id], order_by="nudge_id"))

    def add_coach_candidate(
        self, call_id: str, type_: str, utterance_ids: tuple[str, ...], confidence: float, at_s: float,
        fired: bool, why: str, llm_label: str | None,
    ) -> None:  # fmt: skip
        self.db.table("coach_candidates").insert(
            {"call_id": call_id, "type": type_, "utterance_ids": json.dumps(list(utterance_ids)),
             "confidence": confidence, "at_s": at_s, "fired": int(fired), "why": why, "llm_label": llm_label}
        )  # fmt: skip

    def nudges(self, call_id: str) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT * FROM nudges WHERE call_id = ? ORDER BY id", [call_id])
        return [dict(r, utterance_ids=json.loads(r["utterance_ids"])) for r in rows]

    def coach_candidates(self, call_id: str) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT * FROM coach_candidates WHERE call_id = ? ORDER BY id", [call_id])
        return [dict(r, utterance_ids=json.loads(r["utterance_ids"]), fired=bool(r["fired"])) for r in rows]

    def log_event(self, call_id: str | None, kind: str, detail: dict[str, Any]) -> None:
        self.db.table("events").insert({"call_id": call_id, "at": _now(), "kind": kind, "detail": json.dumps(detail)})

    def end_call(self, call_id: str, end_s: float, status: str = "ended") -> None:
        self.get(call_id)
        with self._conn:
            self._conn.execute("BEGIN")
            self._conn.execute(
                "UPDATE calls SET status = ?, ended_at = ?, end_s = ? WHERE id = ?", (status, _now(), end_s, call_id)
            )
            self._conn.execute(
                "INSERT OR IGNORE INTO outbox (call_id, queued_at, state) VALUES (?, ?, 'pending')", (call_id, _now())
            )
        self.log_event(call_id, "call_ended", {"status": status, "end_s": end_s})

    def recover_interrupted(self) -> list[str]:
        """Close every call still marked recording (its process died); keep all it stored."""
        recovered = []
        for row in self._conn.execute("SELECT id, rate_hz FROM calls WHERE status = 'recording'").fetchall():
            call_id, rate_hz = row
            end_s = max(self._audio_end_s(call_id, rate_hz), self._last_utterance_end_s(call_id))
            self.end_call(call_id, end_s, status="recovered")
            recovered.append(call_id)
        return recovered

    # -- reading ------------------------------------------------------------------------------------
    def get(self, call_id: str) -> CallRecord:
        rows = list(self.db["calls"].rows_where("id = ?", [call_id]))
        if not rows:
            raise UnknownCallError(call_id)
        return CallRecord(**rows[0])

    def calls(self) -> list[CallRecord]:
        return [CallRecord(**row) for row in self.db["calls"].rows_where(order_by="started_at")]

    def utterances(self, call_id: str, pass_: str = "online") -> list[Utterance]:
        rows = self.db["utterances"].rows_where("call_id = ? AND pass = ?", [call_id, pass_], order_by="start_s")
        return [
            Utterance(
                id=r["id"],
                call_id=r["call_id"],
                speaker_id=r["speaker_id"],
                role=Role(r["role"]),
                start_s=r["start_s"],
                end_s=r["end_s"],
                text=r["text"],
                asr_confidence=r["asr_confidence"],
                speaker_confidence=r["speaker_confidence"],
                overlap_s=r["overlap_s"],
            )
            for r in rows
        ]

    def audio(self, call_id: str) -> np.ndarray:
        """The call's audio as mono float32, gaps between chunks filled with silence."""
        self.get(call_id)  # UnknownCallError for a call that does not exist
        chunks = self._conn.execute(
            "SELECT start_sample, pcm16 FROM audio_chunks WHERE call_id = ? ORDER BY seq", (call_id,)
        ).fetchall()
        end = max((start + len(blob) // 2 for start, blob in chunks), default=0)
        out = np.zeros(end, dtype=np.float32)
        for start, blob in chunks:
            data = np.frombuffer(blob, dtype="<i2").astype(np.float32) / 32767.0
            out[start : start + len(data)] = data
        return out

    def audio_pcm16(self, call_id: str) -> bytes:
        """The call's audio exactly as stored (16-bit little-endian mono), gaps as silence: what is uploaded."""
        self.get(call_id)
        chunks = self._conn.execute(
            "SELECT start_sample, pcm16 FROM audio_chunks WHERE call_id = ? ORDER BY seq", (call_id,)
        ).fetchall()
        end = max((start + len(blob) // 2 for start, blob in chunks), default=0)
        out = bytearray(2 * end)
        for start, blob in chunks:
            out[2 * start : 2 * start + len(blob)] = blob
        return bytes(out)

    def pending_uploads(self) -> list[str]:
        """Ended calls not yet confirmed by the cloud, oldest first."""
        rows = self._conn.execute("SELECT call_id FROM outbox WHERE state = 'pending' ORDER BY queued_at")
        return [r[0] for r in rows]

    def mark_synced(self, call_id: str, sha256: str) -> None:
        self._conn.execute("UPDATE outbox SET state = 'synced', last_error = NULL WHERE call_id = ?", (call_id,))
        self.log_event(call_id, "synced", {"audio_sha256": sha256})

    def sync_failed(self, call_id: str, error: str) -> None:
        self._conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE call_id = ?", (error, call_id)
        )

    def outbox(self) -> list[dict[str, Any]]:
        return list(self.db["outbox"].rows_where(order_by="queued_at"))

    def events(self, call_id: str) -> list[dict[str, Any]]:
        rows = self.db["events"].rows_where("call_id = ?", [call_id], order_by="id")
        return [{"kind": r["kind"], "at": r["at"], **json.loads(r["detail"])} for r in rows]

    def _audio_end_s(self, call_id: str, rate_hz: int) -> float:
        row = self._conn.execute(
            "SELECT MAX(start_sample + LENGTH(pcm16) / 2) FROM audio_chunks WHERE call_id = ?", (call_id,)
        ).fetchone()
        return float(row[0] or 0) / rate_hz

    def _last_utterance_end_s(self, call_id: str) -> float:
        row = self._conn.execute("SELECT MAX(end_s) FROM utterances WHERE call_id = ?", (call_id,)).fetchone()
        return float(row[0] or 0.0)
