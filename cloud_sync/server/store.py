"""Cloud storage behind one interface; SQLite is the embedded default (one file, no set-up).

Every method takes the tenant and every query is scoped by it: a call id of another tenant is simply
not found, so a token of tenant A can neither read nor detect tenant B's data. Audio arrives in
chunks at byte offsets; a chunk is accepted only at the current end (or, for a retry, as an exact
copy of what is already there), and the call completes only when the whole audio's sha256 matches
its manifest.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from cloud_sync.contract import CallManifest, UploadState


class Role(StrEnum):
    REP = "rep"
    """Uploads their own calls."""
    MANAGER = "manager"
    """Reads the tenant's calls and reports, comments."""
    ADMIN = "admin"
    """Rubrics, users, tokens."""


@dataclass(frozen=True)
class Principal:
    tenant: str
    role: Role
    token_id: str


class StoreConflict(Exception):
    """The request contradicts what is stored (another manifest under this id, a chunk at a wrong offset)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class NotFound(Exception):
    pass


class CloudStore(Protocol):
    def create_tenant(self, tenant: str, name: str) -> None: ...
    def add_token(
        self, token_id: str, tenant: str, role: Role, secret_sha256: str, expires_at: datetime | None
    ) -> None: ...
    def revoke_token(self, tenant: str, token_id: str) -> None: ...
    def principal(self, secret_sha256: str, now: datetime) -> Principal | None: ...
    def put_manifest(self, tenant: str, manifest: CallManifest) -> tuple[UploadState, bool]: ...
    def upload_state(self, tenant: str, call_id: str) -> UploadState: ...
    def put_chunk(self, tenant: str, call_id: str, offset: int, data: bytes) -> UploadState: ...
    def complete(self, tenant: str, call_id: str) -> UploadState: ...
    def manifest(self, tenant: str, call_id: str) -> CallManifest: ...
    def audio(self, tenant: str, call_id: str) -> bytes: ...
    def calls(self, tenant: str) -> list[UploadState]: ...


_MIGRATIONS = (
    """
    CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL REFERENCES tenants(id),
        role TEXT NOT NULL,
        secret_sha256 TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        revoked_at TEXT
    );
    CREATE TABLE calls (
        tenant TEXT NOT NULL REFERENCES tenants(id),
        call_id TEXT NOT NULL,
        manifest TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        total_bytes {bigint} NOT NULL,
        sha256 TEXT NOT NULL,
        received_bytes {bigint} NOT NULL DEFAULT 0,
        complete INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        completed_at TEXT,
        PRIMARY KEY (tenant, call_id)
    );
    CREATE TABLE audio_chunks (
        tenant TEXT NOT NULL,
        call_id TEXT NOT NULL,
        byte_offset {bigint} NOT NULL,
        data {blob} NOT NULL,
        PRIMARY KEY (tenant, call_id, byte_offset),
        FOREIGN KEY (tenant, call_id) REFERENCES calls (tenant, call_id)
    );
    """,
)
"""Numbered migrations, one text for both databases: only the byte and large-integer types differ.
SQLite records which ran in ``PRAGMA user_version``, Postgres in ``schema_migrations``."""
_SQLITE_MIGRATIONS = tuple(m.format(blob="BLOB", bigint="INTEGER") for m in _MIGRATIONS)
_PG_MIGRATIONS = tuple(m.format(blob="BYTEA", bigint="BIGINT") for m in _MIGRATIONS)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class SqlCloudStore:
    """The store's logic over one DB-API connection; a subclass says how its database differs (placeholder,
    write transactions, row locks, the duplicate-key error). One connection is shared by the server's
    threads under a lock; row locks (Postgres) keep several server processes correct too."""

    FOR_UPDATE = ""
    LENGTH = "length"

    def __init__(self, conn: Any, duplicate: type[Exception]) -> None:
        self._conn = conn
        self._duplicate = duplicate
        self._lock = threading.RLock()  # re-entrant: a write holds it across its statements

    def close(self) -> None:
        self._conn.close()

    def _sql(self, sql: str) -> str:
        return sql

    def _q(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self._conn.execute(self._sql(sql), params)

    @contextmanager
    def _write(self) -> Iterator[None]:
        raise NotImplementedError

    def create_tenant(self, tenant: str, name: str) -> None:
        with self._lock:
            try:
                with self._write():
                    self._q("INSERT INTO tenants VALUES (?, ?, ?)", (tenant, name, _now()))
            except self._duplicate as exc:
                raise StoreConflict("tenant_exists", f"tenant {tenant} already exists") from exc

    def add_token(
        self, token_id: str, tenant: str, role: Role, secret_sha256: str, expires_at: datetime | None
    ) -> None:
        with self._lock:
            if self._q("SELECT 1 FROM tenants WHERE id = ?", (tenant,)).fetchone() is None:
                raise NotFound(f"no tenant {tenant}: create it first (ridealong-cloud tenant create {tenant})")
            self._q(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, NULL)",
                (token_id, tenant, role.value, secret_sha256, _now(), expires_at.isoformat() if expires_at else None),
            )

    def revoke_token(self, tenant: str, token_id: str) -> None:
        with self._lock:
            cur = self._q(
                "UPDATE tokens SET revoked_at = ? WHERE id = ? AND tenant = ? AND revoked_at IS NULL",
                (_now(), token_id, tenant),
            )
        if cur.rowcount == 0:
            raise NotFound(f"no live token {token_id} in tenant {tenant}")

    def principal(self, secret_sha256: str, now: datetime) -> Principal | None:
        with self._lock:
            row = self._q(
                "SELECT id, tenant, role, expires_at, revoked_at FROM tokens WHERE secret_sha256 = ?", (secret_sha256,)
            ).fetchone()
        if row is None or row[4] is not None:
            return None
        if row[3] is not None and datetime.fromisoformat(row[3]) <= now:
            return None
        return Principal(row[1], Role(row[2]), row[0])

    def put_manifest(self, tenant: str, manifest: CallManifest) -> tuple[UploadState, bool]:
        """Store a call's manifest; (its upload state, whether it is new). The same manifest again is a
        no-op; a different one under the same id is a ``StoreConflict``."""
        fingerprint = manifest.fingerprint()
        with self._write():
            row = self._q(
                f"SELECT fingerprint FROM calls WHERE tenant = ? AND call_id = ?{self.FOR_UPDATE}",
                (tenant, manifest.call_id),
            ).fetchone()
            if row is not None:
                if row[0] != fingerprint:
                    raise StoreConflict(
                        "manifest_differs",
                        f"call {manifest.call_id} was uploaded with a different manifest; call ids are unique",
                    )
                created = False
            else:
                self._q(
                    "INSERT INTO calls (tenant, call_id, manifest, fingerprint, total_bytes, sha256, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (tenant, manifest.call_id, manifest.model_dump_json(), fingerprint, manifest.audio.bytes,
                     manifest.audio.sha256, _now()),
                )  # fmt: skip
                created = True
        return self.upload_state(tenant, manifest.call_id), created

    def upload_state(self, tenant: str, call_id: str) -> UploadState:
        with self._lock:
            row = self._q(
                "SELECT received_bytes, total_bytes, complete, sha256 FROM calls WHERE tenant = ? AND call_id = ?",
                (tenant, call_id),
            ).fetchone()
        if row is None:
            raise NotFound(f"no call {call_id}")
        return UploadState(
            call_id=call_id, received_bytes=row[0], total_bytes=row[1], complete=bool(row[2]),
            sha256=row[3] if row[2] else None,
        )  # fmt: skip

    def put_chunk(self, tenant: str, call_id: str, offset: int, data: bytes) -> UploadState:
        with self._write():
            row = self._q(
                f"SELECT received_bytes, total_bytes, complete FROM calls WHERE tenant = ? AND call_id = ?"
                f"{self.FOR_UPDATE}",
                (tenant, call_id),
            ).fetchone()
            if row is None:
                raise NotFound(f"no call {call_id}")
            received, total, complete = row
            if offset + len(data) > total:
                raise StoreConflict("past_end", f"bytes {offset}-{offset + len(data)} run past the audio's {total}")
            if offset < received:  # a retry of something already stored: fine if it is the same bytes
                if self._stored(tenant, call_id, offset, len(data)) != data:
                    raise StoreConflict("chunk_differs", f"bytes at offset {offset} differ from those stored")
            elif offset > received or complete:
                raise StoreConflict("wrong_offset", f"the next chunk must start at byte {received}, not {offset}")
            else:
                self._q("INSERT INTO audio_chunks VALUES (?, ?, ?, ?)", (tenant, call_id, offset, data))
                self._q(
                    "UPDATE calls SET received_bytes = ? WHERE tenant = ? AND call_id = ?",
                    (offset + len(data), tenant, call_id),
                )
        return self.upload_state(tenant, call_id)

    def _stored(self, tenant: str, call_id: str, offset: int, length: int) -> bytes:
        rows = self._q(
            "SELECT byte_offset, data FROM audio_chunks WHERE tenant = ? AND call_id = ? AND byte_offset < ? "
            f"AND byte_offset + {self.LENGTH}(data) > ? ORDER BY byte_offset",
            (tenant, call_id, offset + length, offset),
        ).fetchall()
        joined = b"".join(bytes(r[1]) for r in rows)
        start = offset - rows[0][0] if rows else 0
        return joined[start : start + length]

    def complete(self, tenant: str, call_id: str) -> UploadState:
        state = self.upload_state(tenant, call_id)
        if state.complete:
            return state
        if state.received_bytes != state.total_bytes:
            raise StoreConflict(
                "incomplete", f"{state.received_bytes} of {state.total_bytes} audio bytes received: send the rest"
            )
        digest = hashlib.sha256(self.audio(tenant, call_id)).hexdigest()
        with self._lock:
            expected = self._q(
                "SELECT sha256 FROM calls WHERE tenant = ? AND call_id = ?", (tenant, call_id)
            ).fetchone()[0]
            if digest != expected:
                raise StoreConflict(
                    "checksum_mismatch", f"the audio's sha256 is {digest}, the manifest says {expected}"
                )
            self._q(
                "UPDATE calls SET complete = 1, completed_at = ? WHERE tenant = ? AND call_id = ?",
                (_now(), tenant, call_id),
            )
        return self.upload_state(tenant, call_id)

    def manifest(self, tenant: str, call_id: str) -> CallManifest:
        with self._lock:
            row = self._q("SELECT manifest FROM calls WHERE tenant = ? AND call_id = ?", (tenant, call_id)).fetchone()
        if row is None:
            raise NotFound(f"no call {call_id}")
        return CallManifest.model_validate_json(row[0])

    def audio(self, tenant: str, call_id: str) -> bytes:
        with self._lock:
            rows = self._q(
                "SELECT data FROM audio_chunks WHERE tenant = ? AND call_id = ? ORDER BY byte_offset", (tenant, call_id)
            ).fetchall()
        return b"".join(bytes(r[0]) for r in rows)

    def calls(self, tenant: str) -> list[UploadState]:
        with self._lock:
            ids = [r[0] for r in self._q(
                "SELECT call_id FROM calls WHERE tenant = ? ORDER BY created_at", (tenant,)
            )]  # fmt: skip
        return [self.upload_state(tenant, i) for i in ids]


class SqliteCloudStore(SqlCloudStore):
    """The embedded default: one file, nothing to set up."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        self.migrate(conn)
        super().__init__(conn, sqlite3.IntegrityError)

    @staticmethod
    def migrate(conn: sqlite3.Connection) -> int:
        """Run the migrations not yet run, each in its own transaction."""
        done = int(conn.execute("PRAGMA user_version").fetchone()[0])
        for number, script in enumerate(_SQLITE_MIGRATIONS[done:], start=done + 1):
            conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
        return len(_SQLITE_MIGRATIONS)

    @contextmanager
    def _write(self) -> Iterator[None]:
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")  # the write lock now, not at the first write
            yield


class PostgresCloudStore(SqlCloudStore):
    """PostgreSQL, for a fleet: the same logic, row locks so several server processes can share it."""

    FOR_UPDATE = " FOR UPDATE"
    LENGTH = "octet_length"

    def __init__(self, dsn: str) -> None:
        import psycopg

        conn = psycopg.connect(dsn, autocommit=True)
        self.migrate(conn)
        super().__init__(conn, psycopg.errors.UniqueViolation)

    @staticmethod
    def migrate(conn: Any) -> int:
        """Run the migrations not yet run (under an advisory lock: two servers starting at once)."""
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(72310)")
            conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, at TEXT NOT NULL)")
            done = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
            for number, script in enumerate(_PG_MIGRATIONS[done:], start=done + 1):
                conn.execute(script)
                conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (number, _now()))
        return len(_PG_MIGRATIONS)

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    @contextmanager
    def _write(self) -> Iterator[None]:
        with self._lock, self._conn.transaction():
            yield
