"""`ridealong-cloud`: run the cloud service and administer it (tenants, tokens, schema, jobs, uploads)."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from datetime import timedelta
from pathlib import Path

from cloud_sync.server.jobs import JobQueue, JobStatus
from cloud_sync.server.store import NotFound, Role, SqlCloudStore, StoreConflict
from cloud_sync.server.tasks import TextEmbedder
from models.errors import ModelError


def load_embedder() -> TextEmbedder:
    """The provisioned all-MiniLM-L6-v2 (``ridealong models fetch`` puts it there)."""
    from models.loaders import load_text_embedder
    from models.store import ModelStore

    return load_text_embedder(ModelStore())


def default_db() -> Path:
    env = os.environ.get("RIDEALONG_CLOUD_DB")
    return Path(env) if env else Path.home() / ".local" / "share" / "ridealong-cloud" / "cloud.db"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ridealong-cloud", description="Ridealong's thin cloud service")
    parser.add_argument("--db", type=Path, default=default_db(), help="the SQLite store (default: %(default)s)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("RIDEALONG_CLOUD_POSTGRES"),
        help="a PostgreSQL DSN to use instead of SQLite (default: $RIDEALONG_CLOUD_POSTGRES)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API (FastAPI + uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--deep-dive",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="review each complete call (Claude when ANTHROPIC_API_KEY is set, else the local model)",
    )
    serve.add_argument(
        "--worker",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run jobs in this process too (default: yes on SQLite; on Postgres, run `worker` processes)",
    )
    worker = sub.add_parser("worker", help="run queued jobs (Postgres: any number of these, anywhere)")
    worker.add_argument("--once", action="store_true", help="run what is due now, then exit")
    worker.add_argument(
        "--deep-dive",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="take deep-dive jobs too (Claude when ANTHROPIC_API_KEY is set, else the local model)",
    )
    sub.add_parser("migrate", help="create or upgrade the store's schema (and the job queue's)")
    tenant = sub.add_parser("tenant", help="tenants").add_subparsers(dest="tenant_command", required=True)
    create = tenant.add_parser("create", help="add a tenant (a company)")
    create.add_argument("tenant", help="its id, e.g. acme-hvac")
    create.add_argument("--name", help="display name (default: the id)")
    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="token_command", required=True)
    issue = token.add_parser("issue", help="a new token, printed once")
    issue.add_argument("--tenant", required=True)
    issue.add_argument("--role", choices=[r.value for r in Role], required=True)
    issue.add_argument("--subject", help="who it is for; for a rep, the rep id their device puts on calls (--rep)")
    issue.add_argument("--ttl-days", type=float, help="expires after this many days (default: never)")
    revoke = token.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("--tenant", required=True)
    revoke.add_argument("token_id")
    jobs = sub.add_parser("jobs", help="background jobs").add_subparsers(dest="jobs_command", required=True)
    listing = jobs.add_parser("list", help="a tenant's jobs, newest first")
    listing.add_argument("--tenant", required=True)
    listing.add_argument("--status", choices=[s.value for s in JobStatus])
    retry = jobs.add_parser("retry", help="queue a failed job again")
    retry.add_argument("--tenant", required=True)
    retry.add_argument("job_id", type=int)
    report = sub.add_parser("report", help="deep-dive reports").add_subparsers(dest="report_command", required=True)
    export = report.add_parser("export", help="a call's report page as static HTML beside its audio")
    export.add_argument("--tenant", required=True)
    export.add_argument("--out", type=Path, required=True, help="a directory (index.html and audio.wav go in it)")
    export.add_argument("call_id")
    call = sub.add_parser("call", help="calls").add_subparsers(dest="call_command", required=True)
    discard = call.add_parser("discard", help="forget an unfinished, corrupt upload so the device sends it again")
    discard.add_argument("--tenant", required=True)
    discard.add_argument("call_id")
    return parser


def open_store(args: argparse.Namespace) -> SqlCloudStore:
    if args.postgres:
        from cloud_sync.server.postgres_store import PostgresCloudStore

        return PostgresCloudStore(args.postgres)
    from cloud_sync.server.sqlite_store import SqliteCloudStore

    return SqliteCloudStore(args.db)


def open_jobs(args: argparse.Namespace, store: SqlCloudStore, embedder: TextEmbedder | None = None) -> JobQueue:
    """SQLite: the in-process queue in the same file. Postgres: procrastinate on the same database.
    Models load when a job first needs them (listing jobs needs none)."""
    from cloud_sync.deepdive.factory import make_deep_dive
    from cloud_sync.server.tasks import call_handlers

    embedding = (lambda: embedder) if embedder is not None else functools.cache(load_embedder)
    reviews = (lambda: make_deep_dive(embedder=embedding())) if getattr(args, "deep_dive", True) else None
    handlers = call_handlers(store, embedding, reviews)
    if args.postgres:
        from cloud_sync.server.procrastinate_jobs import ProcrastinateJobQueue

        return ProcrastinateJobQueue(args.postgres, handlers)
    from cloud_sync.server.jobs import InProcessJobQueue

    return InProcessJobQueue(store, handlers)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "token" and args.token_command == "issue" and args.role == Role.REP and not args.subject:
        print("error: a rep token needs --subject, the rep id their device puts on calls (--rep)", file=sys.stderr)
        return 2
    if args.command == "worker" and not args.postgres:
        print("error: on SQLite, jobs run inside `serve`; `worker` is for --postgres", file=sys.stderr)
        return 2
    store = open_store(args)
    try:
        if args.command == "serve":
            return serve(args, store)
        if args.command == "worker":
            queue = open_jobs(args, store)
            if args.once:
                print(f"{queue.run_pending()} job attempts ran")
            else:
                print("worker running; Ctrl-C stops it", flush=True)
                queue.run_forever()
            return 0
        if args.command == "migrate":
            if args.postgres:
                open_jobs(args, store)  # procrastinate's schema, too
            print(f"{'PostgreSQL' if args.postgres else args.db}: schema up to date")
            return 0
        if args.command == "tenant":
            store.create_tenant(args.tenant, args.name or args.tenant)
            print(f"tenant {args.tenant} created")
            return 0
        if args.command == "jobs":
            return jobs_command(args, open_jobs(args, store))
        if args.command == "report":
            from cloud_sync.server.report_view import export_report

            print(f"wrote {export_report(store, args.tenant, args.call_id, args.out)}")
            return 0
        if args.command == "call":
            store.discard_upload(args.tenant, args.call_id)
            print(f"the upload of call {args.call_id} is discarded; the device will send it again at its next sync")
            return 0
        if args.token_command == "issue":
            from cloud_sync.server.tokens import issue_token

            ttl = timedelta(days=args.ttl_days) if args.ttl_days else None
            token_id, token = issue_token(store, args.tenant, Role(args.role), ttl, args.subject)
            print(f"token {token_id} ({args.role} of {args.tenant}); it is shown only now:", file=sys.stderr)
            print(token)
            return 0
        store.revoke_token(args.tenant, args.token_id)
        print(f"token {args.token_id} revoked")
        return 0
    except (NotFound, StoreConflict, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()


def serve(args: argparse.Namespace, store: SqlCloudStore) -> int:
    import uvicorn

    from cloud_sync.server.app import create_app

    embedder = load_embedder()  # now, so a server without its models says so at start
    queue = open_jobs(args, store, embedder)
    run_worker = args.worker if args.worker is not None else not args.postgres
    where = "PostgreSQL" if args.postgres else str(args.db)
    print(f"serving {where} on http://{args.host}:{args.port} (OpenAPI at /docs)", flush=True)
    if not run_worker:
        print("jobs are queued for `ridealong-cloud --postgres DSN worker` processes", flush=True)
    app = create_app(store, jobs=queue, embedder=embedder)
    if run_worker:
        queue.start()
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    finally:
        queue.stop()
    return 0


def jobs_command(args: argparse.Namespace, queue: JobQueue) -> int:
    if args.jobs_command == "retry":
        job = queue.retry(args.tenant, args.job_id)
        print(f"job {job.id} ({job.kind} of call {job.call_id}) queued again")
        return 0
    listed = queue.jobs(args.tenant, JobStatus(args.status) if args.status else None)
    for j in listed:
        print(f"{j.id:>6}  {j.status.value:<8} {j.kind:<12} {j.call_id}  attempts {j.attempts}  {j.error or ''}")
    if not listed:
        print("no jobs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
