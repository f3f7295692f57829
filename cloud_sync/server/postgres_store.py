"""The cloud store on PostgreSQL with pgvector, for a fleet: the same logic as SQLite, a connection
pool so server threads work in parallel, row locks so several server processes can share the
database, and an HNSW index so search reads only a small part of the tenant's vectors."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from cloud_sync.contract import SearchHit
from cloud_sync.server.schema import PG_EXTENSIONS, PG_MIGRATIONS
from cloud_sync.server.store import SqlCloudStore, now_iso


class _PgTx:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def q(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql.replace("?", "%s"), params)

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), rows)


class PostgresCloudStore(SqlCloudStore):
    FOR_UPDATE = " FOR UPDATE"
    LENGTH = "octet_length"

    def __init__(self, dsn: str, pool_size: int = 8) -> None:
        import psycopg
        from pgvector.psycopg import register_vector
        from psycopg_pool import ConnectionPool

        with psycopg.connect(dsn, autocommit=True) as conn:
            self.migrate(conn)
        self._pool = ConnectionPool(
            dsn, min_size=1, max_size=pool_size, configure=register_vector, open=True, kwargs={"autocommit": True}
        )
        super().__init__(psycopg.errors.UniqueViolation)

    @staticmethod
    def migrate(conn: Any) -> int:
        """Run the migrations not yet run (under an advisory lock: two servers starting at once)."""
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(72310)")
            conn.execute(PG_EXTENSIONS)
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, at TEXT NOT NULL)")
            done = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
            for number, script in enumerate(PG_MIGRATIONS[done:], start=done + 1):
                conn.execute(script)
                conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (number, now_iso()))
        return len(PG_MIGRATIONS)

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def tx(self, write: bool = False) -> Iterator[_PgTx]:
        with self._pool.connection() as conn, conn.transaction():
            yield _PgTx(conn)

    def _vector_param(self, vector: np.ndarray) -> Any:
        return np.asarray(vector, dtype=np.float32)

    def search(self, tenant: str, query: np.ndarray, role: str | None, limit: int) -> list[SearchHit]:
        where, params = "tenant = %s", [tenant]
        if role is not None:
            where += " AND role = %s"
            params.append(role)
        q = np.asarray(query, dtype=np.float32)
        with self._pool.connection() as conn, conn.transaction():
            # The HNSW scan goes on until ``limit`` rows pass the tenant (and role) filter, instead of
            # filtering a fixed candidate list, which a small tenant among large ones could empty.
            conn.execute("SET LOCAL hnsw.iterative_scan = strict_order")
            conn.execute(f"SET LOCAL hnsw.ef_search = {max(40, int(limit))}")
            rows = conn.execute(
                "SELECT call_id, utterance_id, speaker_id, role, start_ts, end_ts, text, 1 - (embedding <=> %s)"
                f" FROM utterance_index WHERE {where} ORDER BY embedding <=> %s LIMIT %s",
                [q, *params, q, limit],
            ).fetchall()
        return [
            SearchHit(
                call_id=r[0],
                utterance_id=r[1],
                speaker_id=r[2],
                role=r[3],
                start_ts=r[4],
                end_ts=r[5],
                text=r[6],
                score=round(float(r[7]), 4),
            )
            for r in rows
        ]
