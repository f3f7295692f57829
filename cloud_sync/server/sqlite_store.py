"""The cloud store on SQLite: the embedded default, one file, nothing to set up.

One connection is shared by the server's threads under a lock (SQLite has one writer anyway). Search
scans the tenant's utterance vectors with numpy in blocks: exact, and fast enough for a contractor's
calls (see ``scripts/bench_search.py`` for the figures); a fleet's belongs on Postgres, whose HNSW
index does not read every vector.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from cloud_sync.contract import SearchHit
from cloud_sync.server.schema import EMBEDDING_DIM, SQLITE_MIGRATIONS
from cloud_sync.server.store import SqlCloudStore, top_k

_SCAN_BLOCK = 20_000


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def q(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql, params)

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)


class SqliteCloudStore(SqlCloudStore):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._lock = threading.RLock()
        self.migrate(self._conn)
        super().__init__(sqlite3.IntegrityError)

    @staticmethod
    def migrate(conn: sqlite3.Connection) -> int:
        """Run the migrations not yet run, each in its own transaction."""
        done = int(conn.execute("PRAGMA user_version").fetchone()[0])
        for number, script in enumerate(SQLITE_MIGRATIONS[done:], start=done + 1):
            conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
        return len(SQLITE_MIGRATIONS)

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def tx(self, write: bool = False) -> Iterator[_SqliteTx]:
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield _SqliteTx(self._conn)

    def _vector_param(self, vector: np.ndarray) -> Any:
        return np.asarray(vector, dtype="<f4").tobytes()

    def search(self, tenant: str, query: np.ndarray, role: str | None, limit: int) -> list[SearchHit]:
        q = np.asarray(query, dtype=np.float32)
        where, params = "tenant = ?", [tenant]
        if role is not None:
            where += " AND role = ?"
            params.append(role)
        # Scores first, over the vectors alone (reading the texts of every row costs more than the
        # arithmetic); then the rows of the best few.
        best: list[tuple[float, int]] = []
        with self.tx() as t:
            cur = t.q(f"SELECT rowid, embedding FROM utterance_index WHERE {where}", params)
            while rows := cur.fetchmany(_SCAN_BLOCK):
                vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(-1, EMBEDDING_DIM)
                scores = vectors @ q  # both unit length: the cosine
                best += [(float(scores[i]), rows[i][0]) for i in top_k(scores, limit)]
                best = sorted(best, key=lambda b: -b[0])[:limit]
            details = {
                r[0]: r[1:]
                for r in t.q(
                    "SELECT rowid, call_id, utterance_id, speaker_id, role, start_ts, end_ts, text FROM utterance_index"
                    f" WHERE rowid IN ({', '.join('?' * len(best))})",
                    [rowid for _, rowid in best],
                )
            }
        hits = []
        for score, rowid in best:
            call_id, utterance_id, speaker_id, role_, start_ts, end_ts, text = details[rowid]
            hits.append(
                SearchHit(
                    call_id=call_id,
                    utterance_id=utterance_id,
                    speaker_id=speaker_id,
                    role=role_,
                    start_ts=start_ts,
                    end_ts=end_ts,
                    text=text,
                    score=round(score, 4),
                )
            )
        return hits
