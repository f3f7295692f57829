"""The cloud store's numbered migrations, one text for both databases.

Only a few things differ and are filled in per database: the byte and large-integer types, how a
rubric version is made immutable, and how an utterance's embedding is kept (pgvector's ``vector``
with an HNSW index on Postgres, float32 bytes scanned with numpy on SQLite). SQLite records which
migrations ran in ``PRAGMA user_version``, Postgres in ``schema_migrations``.
"""

from __future__ import annotations

EMBEDDING_DIM = 384
"""all-MiniLM-L6-v2, the text embedder the edge already carries."""

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
    # 2: who a token speaks for, the call's rep (a rep token reaches only its own calls), the tenants'
    # rubric versions (they lived in a separate SQLite file before), managers' comments, and the
    # utterance index behind semantic search.
    """
    ALTER TABLE tokens ADD COLUMN subject TEXT;
    ALTER TABLE calls ADD COLUMN rep_id TEXT;
    CREATE TABLE rubric_versions (
        tenant TEXT NOT NULL REFERENCES tenants(id),
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
    {rubric_guard}
    CREATE TABLE active_rubrics (
        tenant TEXT PRIMARY KEY REFERENCES tenants(id),
        version INTEGER NOT NULL,
        activated_at TEXT NOT NULL,
        FOREIGN KEY (tenant, version) REFERENCES rubric_versions (tenant, version)
    );
    CREATE TABLE comments (
        id {serial},
        tenant TEXT NOT NULL,
        call_id TEXT NOT NULL,
        utterance_id TEXT NOT NULL,
        author TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        FOREIGN KEY (tenant, call_id) REFERENCES calls (tenant, call_id)
    );
    CREATE INDEX comments_by_call ON comments (tenant, call_id);
    CREATE TABLE utterance_index (
        tenant TEXT NOT NULL,
        call_id TEXT NOT NULL,
        utterance_id TEXT NOT NULL,
        speaker_id TEXT NOT NULL,
        role TEXT NOT NULL,
        start_ts DOUBLE PRECISION NOT NULL,
        end_ts DOUBLE PRECISION NOT NULL,
        text TEXT NOT NULL,
        embedding {vector} NOT NULL,
        PRIMARY KEY (tenant, call_id, utterance_id),
        FOREIGN KEY (tenant, call_id) REFERENCES calls (tenant, call_id)
    );
    {vector_index}
    """,
    # 3: the embedded job queue (``jobs.InProcessJobQueue``); a fleet's jobs are procrastinate's.
    """
    CREATE TABLE jobs (
        id {serial},
        kind TEXT NOT NULL,
        tenant TEXT NOT NULL REFERENCES tenants(id),
        call_id TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        error TEXT,
        run_after TEXT NOT NULL,
        queued_at TEXT NOT NULL,
        done_at TEXT
    );
    CREATE INDEX jobs_due ON jobs (status, run_after);
    CREATE INDEX jobs_by_tenant ON jobs (tenant, status);
    """,
    # 4: deep-dive reports (one per call and rubric version: re-scoring with another version adds one),
    # and the tenant's library of calls shared as teaching examples.
    """
    CREATE TABLE reports (
        tenant TEXT NOT NULL,
        call_id TEXT NOT NULL,
        rubric_ref TEXT NOT NULL,
        created_at TEXT NOT NULL,
        report TEXT NOT NULL,
        PRIMARY KEY (tenant, call_id, rubric_ref),
        FOREIGN KEY (tenant, call_id) REFERENCES calls (tenant, call_id)
    );
    CREATE TABLE library (
        id {serial},
        tenant TEXT NOT NULL,
        call_id TEXT NOT NULL,
        utterance_id TEXT,
        start_ts DOUBLE PRECISION,
        title TEXT NOT NULL,
        note TEXT NOT NULL,
        shared_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        FOREIGN KEY (tenant, call_id) REFERENCES calls (tenant, call_id)
    );
    CREATE INDEX library_by_tenant ON library (tenant, id);
    """,
)

_SQLITE_RUBRIC_GUARD = """
    CREATE TRIGGER rubric_versions_immutable_update BEFORE UPDATE ON rubric_versions
    BEGIN SELECT RAISE(ABORT, 'rubric versions are immutable: create a new version'); END;
    CREATE TRIGGER rubric_versions_immutable_delete BEFORE DELETE ON rubric_versions
    BEGIN SELECT RAISE(ABORT, 'rubric versions are immutable: create a new version'); END;
"""
_PG_RUBRIC_GUARD = """
    CREATE FUNCTION rubric_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'rubric versions are immutable: create a new version'; END $$;
    CREATE TRIGGER rubric_versions_immutable BEFORE UPDATE OR DELETE ON rubric_versions
    FOR EACH ROW EXECUTE FUNCTION rubric_versions_immutable();
"""

SQLITE_MIGRATIONS = tuple(
    m.format(
        blob="BLOB", bigint="INTEGER", serial="INTEGER PRIMARY KEY AUTOINCREMENT", vector="BLOB",
        rubric_guard=_SQLITE_RUBRIC_GUARD, vector_index="",
    )
    for m in _MIGRATIONS
)  # fmt: skip
PG_MIGRATIONS = tuple(
    m.format(
        blob="BYTEA", bigint="BIGINT", serial="BIGSERIAL PRIMARY KEY", vector=f"vector({EMBEDDING_DIM})",
        rubric_guard=_PG_RUBRIC_GUARD,
        # Cosine distance over an HNSW graph; the tenant filter is applied while scanning it (iterative
        # scans, set per query), so a small tenant among large ones still gets its k nearest.
        vector_index="CREATE INDEX utterance_index_embedding ON utterance_index"
        " USING hnsw (embedding vector_cosine_ops);",
    )
    for m in _MIGRATIONS
)  # fmt: skip
PG_EXTENSIONS = "CREATE EXTENSION IF NOT EXISTS vector"
"""Run before the migrations: creating pgvector needs a role allowed to create extensions."""
