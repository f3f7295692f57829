"""`ridealong-cloud`: run the cloud service and administer it (tenants, tokens, schema)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path

from cloud_sync.server.store import (
    NotFound,
    PostgresCloudStore,
    Role,
    SqlCloudStore,
    SqliteCloudStore,
    StoreConflict,
)


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
    sub.add_parser("migrate", help="create or upgrade the store's schema")
    tenant = sub.add_parser("tenant", help="tenants").add_subparsers(dest="tenant_command", required=True)
    create = tenant.add_parser("create", help="add a tenant (a company)")
    create.add_argument("tenant", help="its id, e.g. acme-hvac")
    create.add_argument("--name", help="display name (default: the id)")
    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="token_command", required=True)
    issue = token.add_parser("issue", help="a new token, printed once")
    issue.add_argument("--tenant", required=True)
    issue.add_argument("--role", choices=[r.value for r in Role], required=True)
    issue.add_argument("--ttl-days", type=float, help="expires after this many days (default: never)")
    revoke = token.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("--tenant", required=True)
    revoke.add_argument("token_id")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    store: SqlCloudStore = PostgresCloudStore(args.postgres) if args.postgres else SqliteCloudStore(args.db)
    try:
        if args.command == "serve":
            import uvicorn

            from cloud_sync.server.app import create_app
            from rubric_cache.store import RubricStore

            where = "PostgreSQL" if args.postgres else str(args.db)
            print(f"serving {where} on http://{args.host}:{args.port} (OpenAPI at /docs)", flush=True)
            # Rubric versions live in SQLite for now (beside --db), on either store.
            app = create_app(store, rubrics=RubricStore(args.db))
            uvicorn.run(app, host=args.host, port=args.port, log_level="info")
            return 0
        if args.command == "migrate":
            print(f"{'PostgreSQL' if args.postgres else args.db}: schema up to date")
            return 0
        if args.command == "tenant":
            store.create_tenant(args.tenant, args.name or args.tenant)
            print(f"tenant {args.tenant} created")
            return 0
        if args.token_command == "issue":
            from cloud_sync.server.tokens import issue_token

            ttl = timedelta(days=args.ttl_days) if args.ttl_days else None
            token_id, token = issue_token(store, args.tenant, Role(args.role), ttl)
            print(f"token {token_id} ({args.role} of {args.tenant}); it is shown only now:", file=sys.stderr)
            print(token)
            return 0
        store.revoke_token(args.tenant, args.token_id)
        print(f"token {args.token_id} revoked")
        return 0
    except (NotFound, StoreConflict) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
