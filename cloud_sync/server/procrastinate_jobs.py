"""The fleet's job queue: procrastinate on the cloud's PostgreSQL.

Why procrastinate rather than Celery on Redis: the jobs then live in the database the calls already
live in, so a job is queued in the same place (and with the same backups and tenancy) as the data it
works on, and a fleet runs one stateful service instead of two. It brings what a distributed queue
must have: workers in any number of processes or machines (``ridealong-cloud worker``) that claim a
job with ``FOR UPDATE SKIP LOCKED``, retries, a queueing lock (one waiting job per call and kind),
stalled-worker recovery through heartbeats, and its jobs table to look at.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from cloud_sync.server.jobs import Handler, JobInfo, JobSettings, JobStatus, backoff_s
from cloud_sync.server.store import NotFound, StoreConflict

log = logging.getLogger(__name__)

QUEUE = "ridealong"
_STATUS = {
    "todo": JobStatus.QUEUED, "doing": JobStatus.RUNNING, "succeeded": JobStatus.DONE, "failed": JobStatus.FAILED,
    "cancelled": JobStatus.FAILED, "aborted": JobStatus.FAILED, "aborting": JobStatus.RUNNING,
}  # fmt: skip
_ERRORS_TABLE = """CREATE TABLE IF NOT EXISTS ridealong_job_errors (
    job_id BIGINT PRIMARY KEY, error TEXT NOT NULL, at TEXT NOT NULL)"""
"""procrastinate keeps a job's status, not its error; a failed attempt's error is kept here to be shown."""


class ProcrastinateJobQueue:
    def __init__(self, dsn: str, handlers: Mapping[str, Handler], settings: JobSettings | None = None) -> None:
        self._dsn = dsn
        self._handlers = dict(handlers)
        self.settings = settings or JobSettings()
        self._app = self._make_app()
        self._app.open()  # a sync pool: deferring and listing from the server's threads
        self.migrate()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def migrate(self) -> None:
        """procrastinate's schema, once (it is plain DDL, not re-runnable), and the errors table."""
        import psycopg

        with psycopg.connect(self._dsn, autocommit=True) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(72311)")
            exists = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
            if not (exists and exists[0]):
                conn.execute(self._app.schema_manager.get_schema())
            conn.execute(_ERRORS_TABLE)

    def _make_app(self) -> Any:
        import procrastinate

        app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=self._dsn))
        settings = self.settings

        class Backoff(procrastinate.BaseRetryStrategy):
            def get_retry_decision(self, *, exception: BaseException, job: Any) -> Any:
                if job.attempts + 1 >= settings.max_attempts:
                    return None
                wait = timedelta(seconds=backoff_s(settings, job.attempts + 1))
                return procrastinate.RetryDecision(retry_at=datetime.now(UTC) + wait)

        for kind, handler in self._handlers.items():
            app.task(name=kind, queue=QUEUE, retry=Backoff(), pass_context=True)(self._recording(handler))
        return app

    def _recording(self, handler: Handler) -> Any:
        dsn = self._dsn

        def run(context: Any, tenant: str, call_id: str) -> None:
            try:
                handler(tenant, call_id)
            except Exception as exc:
                import psycopg

                error = f"{type(exc).__name__}: {exc}"[:2000]
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(
                        "INSERT INTO ridealong_job_errors VALUES (%s, %s, %s) ON CONFLICT (job_id) DO UPDATE"
                        " SET error = excluded.error, at = excluded.at",
                        (context.job.id, error, datetime.now(UTC).isoformat()),
                    )
                raise
            else:
                import psycopg

                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute("DELETE FROM ridealong_job_errors WHERE job_id = %s", (context.job.id,))

        return run

    def handles(self, kind: str) -> bool:
        return kind in self._handlers

    def enqueue(self, kind: str, tenant: str, call_id: str) -> None:
        import procrastinate.exceptions

        if kind not in self._handlers:
            raise ValueError(f"no handler for job kind {kind!r}")
        task = self._app.tasks[kind]
        with contextlib.suppress(procrastinate.exceptions.AlreadyEnqueued):  # the same job is waiting already
            task.configure(queueing_lock=f"{kind}:{tenant}:{call_id}").defer(tenant=tenant, call_id=call_id)

    def jobs(self, tenant: str, status: JobStatus | None = None) -> list[JobInfo]:
        jobs = [j for j in self._select("j.args ->> 'tenant' = %s", [tenant]) if status is None or j.status == status]
        return jobs

    def job(self, tenant: str, job_id: int) -> JobInfo:
        found = self._select("j.args ->> 'tenant' = %s AND j.id = %s", [tenant, job_id])
        if not found:
            raise NotFound(f"no job {job_id}")
        return found[0]

    def retry(self, tenant: str, job_id: int) -> JobInfo:
        job = self.job(tenant, job_id)
        if job.status != JobStatus.FAILED:
            raise StoreConflict("not_failed", f"job {job_id} is {job.status}; only a failed job is retried")
        self._app.job_manager.retry_job_by_id(job_id, retry_at=datetime.now(UTC))
        return self.job(tenant, job_id)

    def _select(self, where: str, params: list[object]) -> list[JobInfo]:
        import psycopg

        with psycopg.connect(self._dsn, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT j.id, j.task_name, j.args ->> 'tenant', j.args ->> 'call_id', j.status::text, j.attempts,"
                " e.error"
                " FROM procrastinate_jobs j LEFT JOIN ridealong_job_errors e ON e.job_id = j.id"
                f" WHERE j.queue_name = %s AND {where} ORDER BY j.id DESC LIMIT 1000",
                [QUEUE, *params],
            ).fetchall()
        return [
            JobInfo(
                id=r[0],
                kind=r[1],
                tenant=r[2],
                call_id=r[3],
                status=_STATUS[r[4]],
                attempts=r[5],
                error=None if _STATUS[r[4]] == JobStatus.DONE else r[6],
            )
            for r in rows
        ]

    def run_pending(self) -> int:
        """Run what is due now in this thread, then return (``ridealong-cloud worker --once``); how many
        attempts ran."""
        before = self._attempts_started()
        asyncio.run(self._work(wait=False))
        return self._attempts_started() - before

    def _attempts_started(self) -> int:
        import psycopg

        with psycopg.connect(self._dsn, autocommit=True) as conn:
            row = conn.execute("SELECT COUNT(*) FROM procrastinate_events WHERE type = 'started'").fetchone()
        return int(row[0]) if row else 0

    async def _work(self, wait: bool) -> None:
        app = self._make_app()  # its own async pool, on this thread's event loop
        async with app.open_async():
            await app.run_worker_async(
                queues=[QUEUE], wait=wait, install_signal_handlers=False,
                fetch_job_polling_interval=self.settings.poll_s,
            )  # fmt: skip

    def start(self) -> None:
        """A worker on a thread of this process (a small deployment's server, or tests)."""
        if self._thread is not None:
            return
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._task = self._loop.create_task(self._work(wait=True))
            ready.set()
            try:
                self._loop.run_until_complete(self._task)
            except asyncio.CancelledError:
                pass
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="procrastinate-worker", daemon=True)
        self._thread.start()
        ready.wait(10)

    def run_forever(self) -> None:
        """The worker in the foreground until interrupted (``ridealong-cloud worker``)."""
        asyncio.run(self._work(wait=True))

    def stop(self) -> None:
        if self._thread is not None and self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
            self._thread.join(30)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self._app.close()
