"""A tenant's rubric history in SQLite: immutable numbered versions, one active version.

Editing never changes a version: it creates the next one, naming the version it was edited from, and
the author sees the diff (``diff``) before activating it. A version created from anything but the
latest one is refused (two people editing at once: the second must look at the first's change). The
database refuses UPDATE and DELETE on versions itself, so no code path can rewrite history. The edge
keeps its cache in one of these; the cloud keeps the same model.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from rubric_cache.errors import RubricNotFound, UnchangedRubric, VersionConflict
from rubric_cache.schema import Rubric, RubricContent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rubric_versions (
    tenant TEXT NOT NULL,
    version INTEGER NOT NULL,
    parent_version INTEGER,
    author TEXT NOT NULL,
    created_at TEXT NOT NULL,
    source_sha256 TEXT,
    note TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (tenant, version)
);
CREATE TRIGGER IF NOT EXISTS rubric_versions_immutable_update BEFORE UPDATE ON rubric_versions
BEGIN SELECT RAISE(ABORT, 'rubric versions are immutable: create a new version'); END;
CREATE TRIGGER IF NOT EXISTS rubric_versions_immutable_delete BEFORE DELETE ON rubric_versions
BEGIN SELECT RAISE(ABORT, 'rubric versions are immutable: create a new version'); END;
CREATE TABLE IF NOT EXISTS active_rubrics (
    tenant TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    activated_at TEXT NOT NULL,
    FOREIGN KEY (tenant, version) REFERENCES rubric_versions (tenant, version)
);
"""


class RubricStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def create(
        self,
        tenant: str,
        content: RubricContent,
        author: str,
        parent_version: int | None,
        note: str = "",
        source_sha256: str | None = None,
    ) -> Rubric:
        """The next version of ``tenant``'s rubric. ``parent_version`` is the version it was edited from
        (None for a tenant's first): it must be the latest, or ``VersionConflict``."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")  # two writers: the second sees the first's version
            rubric = next_version(self._latest(tenant), tenant, content, author, parent_version, note, source_sha256)
            self._conn.execute("INSERT INTO rubric_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rubric_row(rubric))
        return rubric

    def get(self, tenant: str, version: int) -> Rubric:
        row = self._conn.execute(
            "SELECT * FROM rubric_versions WHERE tenant = ? AND version = ?", (tenant, version)
        ).fetchone()
        if row is None:
            raise RubricNotFound(tenant, version, self.versions(tenant))
        return rubric_from_row(row)

    def versions(self, tenant: str) -> list[int]:
        rows = self._conn.execute("SELECT version FROM rubric_versions WHERE tenant = ? ORDER BY version", (tenant,))
        return [r[0] for r in rows]

    def history(self, tenant: str) -> list[Rubric]:
        rows = self._conn.execute("SELECT * FROM rubric_versions WHERE tenant = ? ORDER BY version", (tenant,))
        return [rubric_from_row(r) for r in rows]

    def tenants(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT DISTINCT tenant FROM rubric_versions ORDER BY tenant")]

    def activate(self, tenant: str, version: int) -> Rubric:
        rubric = self.get(tenant, version)
        now = datetime.now(UTC).isoformat()
        self._conn.execute(
            "INSERT INTO active_rubrics VALUES (?, ?, ?) ON CONFLICT(tenant) DO UPDATE SET version = excluded.version,"
            " activated_at = excluded.activated_at",
            (tenant, version, now),
        )
        return rubric

    def active(self, tenant: str) -> Rubric | None:
        row = self._conn.execute("SELECT version FROM active_rubrics WHERE tenant = ?", (tenant,)).fetchone()
        return self.get(tenant, row[0]) if row else None

    def put(self, rubric: Rubric) -> None:
        """Keep a version made elsewhere (the edge caching the cloud's): the same version must be the same
        content, or ``VersionConflict``."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            row = self._conn.execute(
                "SELECT fingerprint FROM rubric_versions WHERE tenant = ? AND version = ?",
                (rubric.tenant, rubric.version),
            ).fetchone()
            if row is not None:
                if row[0] != rubric.content.fingerprint():
                    raise VersionConflict(rubric.tenant, rubric.version, rubric.version, differs=True)
                return
            self._conn.execute("INSERT INTO rubric_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rubric_row(rubric))

    def _latest(self, tenant: str) -> Rubric | None:
        row = self._conn.execute(
            "SELECT * FROM rubric_versions WHERE tenant = ? ORDER BY version DESC LIMIT 1", (tenant,)
        ).fetchone()
        return rubric_from_row(row) if row else None


def next_version(
    latest: Rubric | None,
    tenant: str,
    content: RubricContent,
    author: str,
    parent_version: int | None,
    note: str,
    source_sha256: str | None,
) -> Rubric:
    """The version after ``latest``, by the rules every rubric history keeps (the edge's and the cloud's):
    an edit must start from the latest version (``VersionConflict``) and must change something
    (``UnchangedRubric``)."""
    if parent_version != (latest.version if latest else None):
        raise VersionConflict(tenant, parent_version, latest.version if latest else None)
    if latest is not None and latest.content.fingerprint() == content.fingerprint():
        raise UnchangedRubric(tenant, latest.version)
    return Rubric(
        tenant=tenant,
        version=(latest.version + 1) if latest else 1,
        parent_version=parent_version,
        author=author,
        created_at=datetime.now(UTC),
        source_sha256=source_sha256,
        note=note,
        content=content,
    )


def rubric_row(rubric: Rubric) -> tuple[object, ...]:
    """A version as a ``rubric_versions`` row (the same columns in the edge's and the cloud's stores)."""
    return (
        rubric.tenant, rubric.version, rubric.parent_version, rubric.author, rubric.created_at.isoformat(),
        rubric.source_sha256, rubric.note, rubric.content.fingerprint(), rubric.content.model_dump_json(),
    )  # fmt: skip


def rubric_from_row(row: tuple[object, ...]) -> Rubric:
    tenant, version, parent, author, created_at, source, note, _fingerprint, content = row
    return Rubric(
        tenant=str(tenant),
        version=int(str(version)),
        parent_version=int(str(parent)) if parent is not None else None,
        author=str(author),
        created_at=datetime.fromisoformat(str(created_at)),
        source_sha256=str(source) if source is not None else None,
        note=str(note),
        content=RubricContent.model_validate_json(str(content)),
    )
