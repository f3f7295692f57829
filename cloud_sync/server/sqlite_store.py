"""The cloud store on SQLite: the embedded default, one file, nothing to set up.

One connection is shared by the server's threads under a lock (SQLite has one writer anyway). Search
scans the tenant's utterance vectors with numpy in blocks: exact, and fast enough for a contractor's
calls (about 0.1 s per 100 000 utterances here); a fleet's belongs on Postgres, whose HNSW index
does not read every vector.
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
        best: list[tuple[float, tuple[Any, ...]]] = []
        with self.tx() as t:
            cur = t.q(
                "SELECT call_id, utterance_id, speaker_id, role, start_ts, end_ts, text, embedding"
                f" FROM utterance_index WHERE {where}",
                params,
            )
            while rows := cur.fetchmany(_SCAN_BLOCK):
                vectors = np.frombuffer(b"".join(r[7] for r in rows), dtype="<f4").reshape(-1, EMBEDDING_DIM)
                scores = vectors @ q  # both unit length: the cosine
                best += [(float(scores[i]), rows[i][:7]) for i in top_k(scores, limit)]
                best = sorted(best, key=lambda b: -b[0])[:limit]
        return [
            SearchHit(
                call_id=r[0],
                utterance_id=r[1],
                speaker_id=r[2],
                role=r[3],
                start_ts=r[4],
                end_ts=r[5],
                text=r[6],
                score=round(score, 4),
            )
            for score, r in best
        ]
