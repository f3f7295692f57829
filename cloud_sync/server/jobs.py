"""Background jobs behind one interface: per-call work (indexing a call for search, its deep dive)
that must not hold up the upload that triggered it.

Two queues implement it. ``InProcessJobQueue`` is the embedded default: its jobs live in the cloud
store's own database (so they survive a restart) and a worker thread in the server runs them.
``ProcrastinateJobQueue`` (``procrastinate_jobs``) is for a fleet: procrastinate on the same
PostgreSQL, with workers as separate processes (``ridealong-cloud worker``).

Both keep the same promises: a job is queued at most once per (kind, tenant, call) while it waits,
so retried uploads do not pile up work; a failing job is retried with exponential backoff and, after
its last attempt, stays visible as failed with its error until an admin retries it; handlers are
idempotent, so a job that ran twice (a worker killed after the work, before recording it) is harmless.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from cloud_sync.server.store import NotFound, SqlCloudStore, StoreConflict, Tx

log = logging.getLogger(__name__)

Handler = Callable[[str, str], None]
"""Runs one job: (tenant, call id). Raising fails the attempt."""


class JobKind(StrEnum):
    INDEX_CALL = "index_call"
    """Embed a complete call's utterances for semantic search."""
    DEEP_DIVE = "deep_dive"
    """Review a complete call against the rubric it was coached with."""
    RESCORE = "rescore"
    """Review a call again against the tenant's newly active rubric."""


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    kind: str
    tenant: str
    call_id: str
    status: JobStatus
    attempts: int
    error: str | None = None
    """The last attempt's error, for a job that failed or is waiting to retry."""


@dataclass(frozen=True)
class JobSettings:
    max_attempts: int = 4
    retry_base_s: float = 2.0
    """Wait before the second attempt; each later one waits twice as long."""
    poll_s: float = 1.0
    """How often an idle in-process worker looks for due jobs (a new job wakes it at once)."""


class JobQueue(Protocol):
    def handles(self, kind: str) -> bool:
        """Whether this queue has a handler for ``kind`` (a server without a deep-dive model has none)."""

    def enqueue(self, kind: str, tenant: str, call_id: str) -> None:
        """Queue a job; a no-op while the same job is still waiting."""

    def jobs(self, tenant: str, status: JobStatus | None = None) -> list[JobInfo]:
        """The tenant's jobs, newest first."""

    def job(self, tenant: str, job_id: int) -> JobInfo:
        """One of the tenant's jobs (``NotFound`` for another tenant's)."""

    def retry(self, tenant: str, job_id: int) -> JobInfo:
        """Queue a failed job again (``NotFound`` for another tenant's, ``StoreConflict`` if it has not failed)."""

    def run_pending(self) -> int:
        """Run the jobs due now, one after another, until none is left; how many ran."""

    def start(self) -> None:
        """Run jobs in the background until ``stop``."""

    def run_forever(self) -> None:
        """Run jobs in the foreground until interrupted."""

    def stop(self) -> None: ...


def backoff_s(settings: JobSettings, attempts: int) -> float:
    return settings.retry_base_s * 2 ** max(0, attempts - 1)


class InProcessJobQueue:
    """Jobs in the cloud store's database, run by one worker thread of the server process."""

    def __init__(self, store: SqlCloudStore, handlers: Mapping[str, Handler], settings: JobSettings | None = None):
        self._store = store
        self._handlers = dict(handlers)
        self.settings = settings or JobSettings()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def handles(self, kind: str) -> bool:
        return kind in self._handlers

    def enqueue(self, kind: str, tenant: str, call_id: str) -> None:
        if kind not in self._handlers:
            raise ValueError(f"no handler for job kind {kind!r}")
        with self._store.tx(write=True) as t:
            waiting = t.q(
                "SELECT 1 FROM jobs WHERE kind = ? AND tenant = ? AND call_id = ? AND status = 'queued'",
                (kind, tenant, call_id),
            ).fetchone()
            if waiting is None:
                t.q(
                    "INSERT INTO jobs (kind, tenant, call_id, status, attempts, run_after, queued_at)"
                    " VALUES (?, ?, ?, 'queued', 0, ?, ?)",
                    (kind, tenant, call_id, _iso(_utcnow()), _iso(_utcnow())),
                )
        self._wake.set()

    def jobs(self, tenant: str, status: JobStatus | None = None) -> list[JobInfo]:
        sql = "SELECT id, kind, tenant, call_id, status, attempts, error FROM jobs WHERE tenant = ?"
        params: list[object] = [tenant]
        if status is not None:
            sql += " AND status = ?"
            params.append(status.value)
        with self._store.tx() as t:
            rows = t.q(sql + " ORDER BY id DESC", params).fetchall()
        return [_info(r) for r in rows]

    def retry(self, tenant: str, job_id: int) -> JobInfo:
        with self._store.tx(write=True) as t:
            job = self._job(t, tenant, job_id)
            if job.status != JobStatus.FAILED:
                raise StoreConflict("not_failed", f"job {job_id} is {job.status}; only a failed job is retried")
            t.q(
                "UPDATE jobs SET status = 'queued', attempts = 0, run_after = ? WHERE id = ?",
                (_iso(_utcnow()), job_id),
            )
        self._wake.set()
        return self.job(tenant, job_id)

    def job(self, tenant: str, job_id: int) -> JobInfo:
        with self._store.tx() as t:
            return self._job(t, tenant, job_id)

    @staticmethod
    def _job(t: Tx, tenant: str, job_id: int) -> JobInfo:
        row = t.q(
            "SELECT id, kind, tenant, call_id, status, attempts, error FROM jobs WHERE id = ? AND tenant = ?",
            (job_id, tenant),
        ).fetchone()
        if row is None:
            raise NotFound(f"no job {job_id}")
        return _info(row)

    def run_pending(self) -> int:
        ran = 0
        while (job := self._claim()) is not None:
            self._run(*job)
            ran += 1
        return ran

    def _recover(self) -> None:
        """Only the server's worker runs these jobs: when it starts, a job marked running was cut off by
        a crash or a kill. (Not on opening the queue: ``ridealong-cloud jobs list`` opens it too, while
        the server's worker may be running one.)"""
        with self._store.tx(write=True) as t:
            t.q("UPDATE jobs SET status = 'queued' WHERE status = 'running'")

    def start(self) -> None:
        if self._thread is None:
            self._recover()
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="jobs", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stopping.set()
            self._wake.set()
            self._thread.join(30)
            self._thread = None

    def run_forever(self) -> None:
        self._recover()
        self._loop()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_pending()
            except Exception:  # the database itself failing: keep the worker alive, try again later
                log.exception("job worker: could not claim or record a job")
            self._wake.wait(self.settings.poll_s)
            self._wake.clear()

    def _claim(self) -> tuple[int, str, str, str, int] | None:
        with self._store.tx(write=True) as t:
            row = t.q(
                "SELECT id, kind, tenant, call_id, attempts FROM jobs WHERE status = 'queued' AND run_after <= ?"
                " ORDER BY run_after, id LIMIT 1",
                (_iso(_utcnow()),),
            ).fetchone()
            if row is None:
                return None
            t.q("UPDATE jobs SET status = 'running', attempts = attempts + 1 WHERE id = ?", (row[0],))
        return row[0], row[1], row[2], row[3], row[4] + 1

    def _run(self, job_id: int, kind: str, tenant: str, call_id: str, attempt: int) -> None:
        try:
            self._handlers[kind](tenant, call_id)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            final = attempt >= self.settings.max_attempts
            log.warning("job %s %s of %s/%s failed (attempt %d): %s", job_id, kind, tenant, call_id, attempt, error)
            retry_at = _utcnow() + timedelta(seconds=backoff_s(self.settings, attempt))
            with self._store.tx(write=True) as t:
                t.q(
                    "UPDATE jobs SET status = ?, error = ?, run_after = ? WHERE id = ?",
                    ("failed" if final else "queued", error[:2000], _iso(retry_at), job_id),
                )
            return
        with self._store.tx(write=True) as t:
            t.q("UPDATE jobs SET status = 'done', error = NULL, done_at = ? WHERE id = ?", (_iso(_utcnow()), job_id))


def wait_for_jobs(queue: JobQueue, tenant: str, timeout_s: float) -> list[JobInfo]:
    """The tenant's jobs once none is queued or running (for tests and scripts)."""
    deadline = time.monotonic() + timeout_s
    while True:
        jobs = queue.jobs(tenant)
        if all(j.status in (JobStatus.DONE, JobStatus.FAILED) for j in jobs) or time.monotonic() > deadline:
            return jobs
        time.sleep(0.05)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(when: datetime) -> str:
    # Fixed width, so comparing the stored text orders the times.
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _info(row: tuple[object, ...]) -> JobInfo:
    return JobInfo(
        id=int(str(row[0])), kind=str(row[1]), tenant=str(row[2]), call_id=str(row[3]), status=JobStatus(str(row[4])),
        attempts=int(str(row[5])), error=None if row[6] is None else str(row[6]),
    )  # fmt: skip
