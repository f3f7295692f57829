"""Cloud storage behind one interface: SQLite is the embedded default (one file, no set-up), PostgreSQL
with pgvector the store for a fleet (``sqlite_store``, ``postgres_store``).

Every method takes the tenant and every query is scoped by it: a call id of another tenant is simply
not found, so a token of tenant A can neither read nor detect tenant B's data. Audio arrives in
chunks at byte offsets; a chunk is accepted only at the current end (or, for a retry, as an exact
copy of what is already there), and the call completes only when the whole audio's sha256 matches
its manifest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import numpy as np

from cloud_sync.contract import (
    CallManifest,
    Comment,
    LibraryEntry,
    NewLibraryEntry,
    Report,
    SearchHit,
    UploadState,
    WireUtterance,
)
from rubric_cache.errors import RubricNotFound, VersionConflict
from rubric_cache.schema import Rubric, RubricContent
from rubric_cache.store import next_version, rubric_from_row, rubric_row


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
    subject: str | None = None
    """The person the token speaks for; for a rep, the rep id their calls carry."""

    @property
    def name(self) -> str:
        return self.subject or f"token {self.token_id}"


class StoreConflict(Exception):
    """The request contradicts what is stored (another manifest under this id, a chunk at a wrong offset)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class NotFound(Exception):
    pass


class Tx(Protocol):
    """One transaction on the store's database; ``?`` placeholders whatever the database."""

    def q(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """The statement once per row, batched (psycopg pipelines it)."""
        ...


class CloudStore(Protocol):
    def create_tenant(self, tenant: str, name: str) -> None: ...
    def add_token(
        self,
        token_id: str,
        tenant: str,
        role: Role,
        secret_sha256: str,
        expires_at: datetime | None,
        subject: str | None = None,
    ) -> None: ...
    def revoke_token(self, tenant: str, token_id: str) -> None: ...
    def principal(self, secret_sha256: str, now: datetime) -> Principal | None: ...
    def put_manifest(self, tenant: str, manifest: CallManifest) -> tuple[UploadState, bool]: ...
    def call_rep(self, tenant: str, call_id: str) -> str | None: ...
    def upload_state(self, tenant: str, call_id: str) -> UploadState: ...
    def put_chunk(self, tenant: str, call_id: str, offset: int, data: bytes) -> UploadState: ...
    def complete(self, tenant: str, call_id: str) -> UploadState: ...
    def discard_upload(self, tenant: str, call_id: str) -> None: ...
    def manifest(self, tenant: str, call_id: str) -> CallManifest: ...
    def audio(self, tenant: str, call_id: str) -> bytes: ...
    def calls(self, tenant: str) -> list[UploadState]: ...
    def add_comment(self, tenant: str, call_id: str, utterance_id: str, author: str, body: str) -> Comment: ...
    def put_report(self, tenant: str, report: Report) -> None: ...
    def report(self, tenant: str, call_id: str, rubric_ref: str | None = None) -> Report: ...
    def share(self, tenant: str, entry: NewLibraryEntry, shared_by: str) -> LibraryEntry: ...
    def library(self, tenant: str) -> list[LibraryEntry]: ...
    def comments(self, tenant: str, call_id: str) -> list[Comment]: ...
    def index_call(
        self, tenant: str, call_id: str, utterances: Sequence[WireUtterance], vectors: np.ndarray
    ) -> None: ...
    def indexed_count(self, tenant: str, call_id: str) -> int: ...
    def search(self, tenant: str, query: np.ndarray, role: str | None, limit: int) -> list[SearchHit]: ...
    @property
    def rubrics(self) -> CloudRubrics: ...
    def close(self) -> None: ...


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


class SqlCloudStore:
    """The store's logic over DB-API transactions; a subclass says how its database differs (how a
    transaction is opened, row locks, the duplicate-key error, how vectors are kept and searched)."""

    FOR_UPDATE = ""
    LENGTH = "length"

    def __init__(self, duplicate: type[Exception]) -> None:
        self._duplicate = duplicate
        self._rubrics = CloudRubrics(self)

    @property
    def rubrics(self) -> CloudRubrics:
        """The tenants' rubric histories, with the same rules (and method names) as the edge's ``RubricStore``."""
        return self._rubrics

    def close(self) -> None:
        raise NotImplementedError

    def tx(self, write: bool = False) -> AbstractContextManager[Tx]:
        """A transaction; ``write`` takes the write lock at once (SQLite) rather than at the first write."""
        raise NotImplementedError

    def _vector_param(self, vector: np.ndarray) -> Any:
        raise NotImplementedError

    def search(self, tenant: str, query: np.ndarray, role: str | None, limit: int) -> list[SearchHit]:
        raise NotImplementedError

    # -- tenants and tokens ------------------------------------------------------------------------

    def create_tenant(self, tenant: str, name: str) -> None:
        try:
            with self.tx(write=True) as t:
                t.q("INSERT INTO tenants VALUES (?, ?, ?)", (tenant, name, now_iso()))
        except self._duplicate as exc:
            raise StoreConflict("tenant_exists", f"tenant {tenant} already exists") from exc

    def add_token(
        self,
        token_id: str,
        tenant: str,
        role: Role,
        secret_sha256: str,
        expires_at: datetime | None,
        subject: str | None = None,
    ) -> None:
        with self.tx(write=True) as t:
            if t.q("SELECT 1 FROM tenants WHERE id = ?", (tenant,)).fetchone() is None:
                raise NotFound(f"no tenant {tenant}: create it first (ridealong-cloud tenant create {tenant})")
            t.q(
                "INSERT INTO tokens (id, tenant, role, secret_sha256, created_at, expires_at, subject)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (token_id, tenant, role.value, secret_sha256, now_iso(), expires_at.isoformat() if expires_at else None,
                 subject),
            )  # fmt: skip

    def revoke_token(self, tenant: str, token_id: str) -> None:
        with self.tx(write=True) as t:
            cur = t.q(
                "UPDATE tokens SET revoked_at = ? WHERE id = ? AND tenant = ? AND revoked_at IS NULL",
                (now_iso(), token_id, tenant),
            )
            revoked = cur.rowcount
        if revoked == 0:
            raise NotFound(f"no live token {token_id} in tenant {tenant}")

    def principal(self, secret_sha256: str, now: datetime) -> Principal | None:
        with self.tx() as t:
            row = t.q(
                "SELECT id, tenant, role, expires_at, revoked_at, subject FROM tokens WHERE secret_sha256 = ?",
                (secret_sha256,),
            ).fetchone()
        if row is None or row[4] is not None:
            return None
        if row[3] is not None and datetime.fromisoformat(row[3]) <= now:
            return None
        return Principal(row[1], Role(row[2]), row[0], row[5])

    # -- call upload -------------------------------------------------------------------------------

    def put_manifest(self, tenant: str, manifest: CallManifest) -> tuple[UploadState, bool]:
        """Store a call's manifest; (its upload state, whether it is new). The same manifest again is a
        no-op; a different one under the same id is a ``StoreConflict``."""
        fingerprint = manifest.fingerprint()
        with self.tx(write=True) as t:
            row = t.q(
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
                t.q(
                    "INSERT INTO calls (tenant, call_id, manifest, fingerprint, total_bytes, sha256, created_at,"
                    " rep_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (tenant, manifest.call_id, manifest.model_dump_json(), fingerprint, manifest.audio.bytes,
                     manifest.audio.sha256, now_iso(), manifest.rep_id),
                )  # fmt: skip
                created = True
            state = self._upload_state(t, tenant, manifest.call_id)
        return state, created

    def call_rep(self, tenant: str, call_id: str) -> str | None:
        """The rep a call belongs to (``NotFound`` when the tenant has no such call)."""
        with self.tx() as t:
            row = t.q("SELECT rep_id FROM calls WHERE tenant = ? AND call_id = ?", (tenant, call_id)).fetchone()
        if row is None:
            raise NotFound(f"no call {call_id}")
        return row[0]

    def upload_state(self, tenant: str, call_id: str) -> UploadState:
        with self.tx() as t:
            return self._upload_state(t, tenant, call_id)

    @staticmethod
    def _upload_state(t: Tx, tenant: str, call_id: str) -> UploadState:
        row = t.q(
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
        with self.tx(write=True) as t:
            row = t.q(
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
                if self._stored(t, tenant, call_id, offset, len(data)) != data:
                    raise StoreConflict("chunk_differs", f"bytes at offset {offset} differ from those stored")
            elif offset > received or complete:
                raise StoreConflict("wrong_offset", f"the next chunk must start at byte {received}, not {offset}")
            else:
                t.q("INSERT INTO audio_chunks VALUES (?, ?, ?, ?)", (tenant, call_id, offset, data))
                t.q(
                    "UPDATE calls SET received_bytes = ? WHERE tenant = ? AND call_id = ?",
                    (offset + len(data), tenant, call_id),
                )
            return self._upload_state(t, tenant, call_id)

    def _stored(self, t: Tx, tenant: str, call_id: str, offset: int, length: int) -> bytes:
        rows = t.q(
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
        with self.tx(write=True) as t:
            expected = t.q("SELECT sha256 FROM calls WHERE tenant = ? AND call_id = ?", (tenant, call_id)).fetchone()[0]
            if digest != expected:
                raise StoreConflict(
                    "checksum_mismatch",
                    f"the audio's sha256 is {digest}, the manifest says {expected}: an admin can discard the upload "
                    f"(ridealong-cloud call discard --tenant {tenant} {call_id}) so the device sends it again",
                )
            t.q(
                "UPDATE calls SET complete = 1, completed_at = ? WHERE tenant = ? AND call_id = ?",
                (now_iso(), tenant, call_id),
            )
            return self._upload_state(t, tenant, call_id)

    def discard_upload(self, tenant: str, call_id: str) -> None:
        """Forget an unfinished upload (its manifest and audio), so the device can send the call afresh: the
        way out when what arrived is corrupt. A complete call is a record and is not discarded this way."""
        with self.tx(write=True) as t:
            row = t.q(
                f"SELECT complete FROM calls WHERE tenant = ? AND call_id = ?{self.FOR_UPDATE}", (tenant, call_id)
            ).fetchone()
            if row is None:
                raise NotFound(f"no call {call_id}")
            if row[0]:
                raise StoreConflict("complete", f"call {call_id} arrived complete and verified; it is not discarded")
            t.q("DELETE FROM audio_chunks WHERE tenant = ? AND call_id = ?", (tenant, call_id))
            t.q("DELETE FROM calls WHERE tenant = ? AND call_id = ?", (tenant, call_id))

    def manifest(self, tenant: str, call_id: str) -> CallManifest:
        with self.tx() as t:
            row = t.q("SELECT manifest FROM calls WHERE tenant = ? AND call_id = ?", (tenant, call_id)).fetchone()
        if row is None:
            raise NotFound(f"no call {call_id}")
        return CallManifest.model_validate_json(row[0])

    def audio(self, tenant: str, call_id: str) -> bytes:
        with self.tx() as t:
            rows = t.q(
                "SELECT data FROM audio_chunks WHERE tenant = ? AND call_id = ? ORDER BY byte_offset", (tenant, call_id)
            ).fetchall()
        return b"".join(bytes(r[0]) for r in rows)

    def calls(self, tenant: str) -> list[UploadState]:
        with self.tx() as t:
            ids = [r[0] for r in t.q("SELECT call_id FROM calls WHERE tenant = ? ORDER BY created_at", (tenant,))]
            return [self._upload_state(t, tenant, i) for i in ids]

    # -- comments ----------------------------------------------------------------------------------

    def add_comment(self, tenant: str, call_id: str, utterance_id: str, author: str, body: str) -> Comment:
        """A comment on one utterance of a complete call (``NotFound`` for an utterance the call lacks)."""
        manifest = self.manifest(tenant, call_id)
        known = {u.id for u in (*manifest.utterances, *manifest.second_pass)}
        if utterance_id not in known:
            raise NotFound(f"call {call_id} has no utterance {utterance_id}")
        created_at = now_iso()
        with self.tx(write=True) as t:
            row = t.q(
                "INSERT INTO comments (tenant, call_id, utterance_id, author, body, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (tenant, call_id, utterance_id, author, body, created_at),
            ).fetchone()
        return Comment(id=row[0], call_id=call_id, utterance_id=utterance_id, author=author, body=body,
                       created_at=datetime.fromisoformat(created_at))  # fmt: skip

    def comments(self, tenant: str, call_id: str) -> list[Comment]:
        self.call_rep(tenant, call_id)  # NotFound for a call the tenant does not have
        with self.tx() as t:
            rows = t.q(
                "SELECT id, utterance_id, author, body, created_at FROM comments WHERE tenant = ? AND call_id = ?"
                " ORDER BY id",
                (tenant, call_id),
            ).fetchall()
        return [
            Comment(
                id=r[0],
                call_id=call_id,
                utterance_id=r[1],
                author=r[2],
                body=r[3],
                created_at=datetime.fromisoformat(r[4]),
            )
            for r in rows
        ]

    # -- reports and the library -------------------------------------------------------------------

    def put_report(self, tenant: str, report: Report) -> None:
        """Keep a call's report against one rubric version (the same version again replaces it)."""
        with self.tx(write=True) as t:
            t.q(
                "INSERT INTO reports VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, call_id, rubric_ref) DO UPDATE"
                " SET created_at = excluded.created_at, report = excluded.report",
                (tenant, report.call_id, report.rubric_ref, report.created_at.isoformat(), report.model_dump_json()),
            )

    def report(self, tenant: str, call_id: str, rubric_ref: str | None = None) -> Report:
        """A call's report against ``rubric_ref``, or its newest one."""
        sql = "SELECT report FROM reports WHERE tenant = ? AND call_id = ?"
        params: list[object] = [tenant, call_id]
        if rubric_ref is not None:
            sql += " AND rubric_ref = ?"
            params.append(rubric_ref)
        with self.tx() as t:
            row = t.q(sql + " ORDER BY created_at DESC LIMIT 1", params).fetchone()
        if row is None:
            raise NotFound(f"no report on call {call_id} yet" + (f" against {rubric_ref}" if rubric_ref else ""))
        return Report.model_validate_json(row[0])

    def share(self, tenant: str, entry: NewLibraryEntry, shared_by: str) -> LibraryEntry:
        """Add a call (or one of its utterances) to the tenant's library of teaching examples."""
        manifest = self.manifest(tenant, entry.call_id)
        start_ts = None
        if entry.utterance_id is not None:
            found = [u for u in (*manifest.second_pass, *manifest.utterances) if u.id == entry.utterance_id]
            if not found:
                raise NotFound(f"call {entry.call_id} has no utterance {entry.utterance_id}")
            start_ts = found[0].start_ts
        created_at = now_iso()
        with self.tx(write=True) as t:
            row = t.q(
                "INSERT INTO library (tenant, call_id, utterance_id, start_ts, title, note, shared_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (tenant, entry.call_id, entry.utterance_id, start_ts, entry.title, entry.note, shared_by, created_at),
            ).fetchone()
        return LibraryEntry(id=row[0], call_id=entry.call_id, utterance_id=entry.utterance_id, start_ts=start_ts,
                            title=entry.title, note=entry.note, shared_by=shared_by,
                            created_at=datetime.fromisoformat(created_at))  # fmt: skip

    def library(self, tenant: str) -> list[LibraryEntry]:
        with self.tx() as t:
            rows = t.q(
                "SELECT id, call_id, utterance_id, start_ts, title, note, shared_by, created_at FROM library"
                " WHERE tenant = ? ORDER BY id DESC",
                (tenant,),
            ).fetchall()
        return [
            LibraryEntry(
                id=r[0],
                call_id=r[1],
                utterance_id=r[2],
                start_ts=r[3],
                title=r[4],
                note=r[5],
                shared_by=r[6],
                created_at=datetime.fromisoformat(r[7]),
            )
            for r in rows
        ]

    # -- semantic search ---------------------------------------------------------------------------

    def index_call(self, tenant: str, call_id: str, utterances: Sequence[WireUtterance], vectors: np.ndarray) -> None:
        """Replace a call's search index (idempotent: indexing twice leaves the same rows)."""
        if len(utterances) != len(vectors):
            raise ValueError(f"{len(utterances)} utterances but {len(vectors)} vectors")
        with self.tx(write=True) as t:
            t.q("DELETE FROM utterance_index WHERE tenant = ? AND call_id = ?", (tenant, call_id))
            rows = [
                (tenant, call_id, u.id, u.speaker_id, u.role, u.start_ts, u.end_ts, u.text, self._vector_param(v))
                for u, v in zip(utterances, vectors, strict=True)
            ]
            t.many("INSERT INTO utterance_index VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def indexed_count(self, tenant: str, call_id: str) -> int:
        with self.tx() as t:
            row = t.q("SELECT COUNT(*) FROM utterance_index WHERE tenant = ? AND call_id = ?", (tenant, call_id))
            return int(row.fetchone()[0])


class CloudRubrics:
    """The tenants' rubric versions inside the cloud store: immutable, numbered, one active per tenant,
    by the same rules as the edge's ``RubricStore`` (``next_version``), in either database."""

    def __init__(self, store: SqlCloudStore) -> None:
        self._store = store

    def create(
        self,
        tenant: str,
        content: RubricContent,
        author: str,
        parent_version: int | None,
        note: str = "",
        source_sha256: str | None = None,
    ) -> Rubric:
        s = self._store
        with s.tx(write=True) as t:
            # The latest row locked (Postgres): two admins editing at once, the second sees the first's version.
            row = t.q(
                f"SELECT * FROM rubric_versions WHERE tenant = ? ORDER BY version DESC LIMIT 1{s.FOR_UPDATE}",
                (tenant,),
            ).fetchone()
            rubric = next_version(
                rubric_from_row(row) if row else None, tenant, content, author, parent_version, note, source_sha256
            )
            try:
                t.q("INSERT INTO rubric_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rubric_row(rubric))
            except s._duplicate as exc:  # the first version, created twice at once
                raise VersionConflict(tenant, parent_version, rubric.version) from exc
        return rubric

    def get(self, tenant: str, version: int) -> Rubric:
        with self._store.tx() as t:
            row = t.q("SELECT * FROM rubric_versions WHERE tenant = ? AND version = ?", (tenant, version)).fetchone()
        if row is None:
            raise RubricNotFound(tenant, version, self.versions(tenant))
        return rubric_from_row(row)

    def versions(self, tenant: str) -> list[int]:
        with self._store.tx() as t:
            rows = t.q("SELECT version FROM rubric_versions WHERE tenant = ? ORDER BY version", (tenant,)).fetchall()
        return [r[0] for r in rows]

    def activate(self, tenant: str, version: int) -> Rubric:
        rubric = self.get(tenant, version)
        with self._store.tx(write=True) as t:
            t.q(
                "INSERT INTO active_rubrics VALUES (?, ?, ?) ON CONFLICT (tenant) DO UPDATE SET version ="
                " excluded.version, activated_at = excluded.activated_at",
                (tenant, version, now_iso()),
            )
        return rubric

    def active(self, tenant: str) -> Rubric | None:
        with self._store.tx() as t:
            row = t.q("SELECT version FROM active_rubrics WHERE tenant = ?", (tenant,)).fetchone()
        return self.get(tenant, row[0]) if row else None


def top_k(scores: np.ndarray, k: int) -> Iterator[int]:
    """Indices of the ``k`` highest scores, best first."""
    if len(scores) == 0 or k <= 0:
        return iter(())
    k = min(k, len(scores))
    part = np.argpartition(-scores, k - 1)[:k]
    return iter(part[np.argsort(-scores[part], kind="stable")].tolist())
