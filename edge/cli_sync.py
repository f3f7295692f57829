"""`ridealong sync`: send every ended call still in the outbox to the cloud, with a progress bar."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from edge.cli_calls import default_db


def add_parser(sub: Any) -> None:
    sync = sub.add_parser("sync", help="upload the calls waiting in the outbox (resumes where it stopped)")
    sync.add_argument("--db", type=Path, default=default_db(), help="the call store (default: %(default)s)")
    sync.add_argument("--server", default=os.environ.get("RIDEALONG_CLOUD_URL"),
                      help="the cloud service's URL (default: $RIDEALONG_CLOUD_URL)")  # fmt: skip
    sync.add_argument("--token", default=os.environ.get("RIDEALONG_CLOUD_TOKEN"),
                      help="your API token (default: $RIDEALONG_CLOUD_TOKEN)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    from cloud_sync.client import SyncClient
    from edge.call_store import CallStore
    from edge.sync import sync_pending

    if not args.server or not args.token:
        print("error: no cloud configured: pass --server and --token (or set RIDEALONG_CLOUD_URL/_TOKEN)")
        return 2
    store = CallStore(args.db)
    try:
        pending = store.pending_uploads()
        if not pending:
            print("nothing to sync: every ended call is confirmed by the cloud")
            return 0
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
        with Progress(*columns) as bar, SyncClient(args.server, args.token) as client:
            tasks: dict[str, Any] = {}

            def progress(p: Any) -> None:
                if p.call_id not in tasks:
                    tasks[p.call_id] = bar.add_task(p.call_id, total=p.total_bytes)
                bar.update(tasks[p.call_id], completed=p.sent_bytes)

            outcome = sync_pending(store, client, progress)
    finally:
        store.close()
    print(f"synced {len(outcome.synced)} of {len(pending)} calls")
    for call_id, why in outcome.failed:
        print(f"  still pending: {call_id}: {why}")
    return 0 if not outcome.failed else 1
