"""The call store on a real SQLite file: round trip, crash recovery after kill -9, schema guard."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from edge.call_store import CallStore, SchemaTooNewError, UnknownCallError
from edge.frames import Role, Utterance
from edge.store_schema import MIGRATIONS
from tests.conftest import REPO


def utterance(call_id: str, i: int) -> Utterance:
    return Utterance(
        id=f"u{i:03d}", call_id=call_id, speaker_id="spk0" if i % 2 else "rep", role=Role.REP,
        start_s=i * 2.0, end_s=i * 2.0 + 1.5, text=f"utterance {i}", asr_confidence=0.9, speaker_confidence=0.8,
        overlap_s=0.1 * i,
    )  # fmt: skip


def test_a_call_round_trips_through_the_file(tmp_path: Path) -> None:
    store = CallStore(tmp_path / "calls.db")
    call_id = store.start_call("acme", "wav:test", 16_000, rep_id="marcus")
    tone = np.sin(np.arange(32_000) / 10).astype(np.float32) * 0.5
    store.add_audio(call_id, tone[:16_000], 0)
    store.add_audio(call_id, tone[16_000:], 16_000)
    for i in range(3):
        store.add_utterance(utterance(call_id, i))
    store.add_utterance(utterance(call_id, 1), pass_="second")
    store.end_call(call_id, 2.0)
    store.close()

    reopened = CallStore(tmp_path / "calls.db")
    record = reopened.get(call_id)
    assert record.status == "ended" and record.end_s == 2.0 and record.rep_id == "marcus"
    assert reopened.utterances(call_id) == [utterance(call_id, i) for i in range(3)]  # every field, overlap too
    assert [u.id for u in reopened.utterances(call_id, "second")] == ["u001"]
    np.testing.assert_allclose(reopened.audio(call_id), tone, atol=1 / 32767)
    assert [e["kind"] for e in reopened.events(call_id)] == ["call_started", "call_ended"]
    assert reopened.db["outbox"].count == 1
    assert reopened.schema_version == len(MIGRATIONS)
    assert reopened.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(UnknownCallError, match="calls list"):
        reopened.get("nope")


WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from pathlib import Path
    from edge.call_store import CallStore
    from tests.edge.test_call_store import utterance
    store = CallStore(Path(sys.argv[1]))
    call_id = store.start_call("acme", "wav:crash", 16_000)
    for i in range(10_000):
        store.add_audio(call_id, np.zeros(1600, np.float32), i * 1600)
        store.add_utterance(utterance(call_id, i))
        print(call_id, i, flush=True)  # only after both writes committed
        time.sleep(0.01)
    """
)


def test_kill_9_mid_call_loses_nothing_committed(tmp_path: Path) -> None:
    db = tmp_path / "calls.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 60
    while len(lines) < 40 and time.monotonic() < deadline:
        lines.append(proc.stdout.readline().split())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    call_id, last = lines[-1][0], int(lines[-1][1])

    store = CallStore(db)
    assert store.recover_interrupted() == [call_id]
    record = store.get(call_id)
    assert record.status == "recovered"
    stored = store.utterances(call_id)
    assert len(stored) >= last + 1  # every utterance reported committed before the kill
    assert record.end_s is not None and record.end_s >= stored[-1].end_s
    assert len(store.audio(call_id)) >= (last + 1) * 1600
    assert store.recover_interrupted() == []  # recovery runs once


def test_a_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "calls.db"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    before = db.read_bytes()
    with pytest.raises(SchemaTooNewError, match="upgrade ridealong"):
        CallStore(db)
    assert db.read_bytes() == before
