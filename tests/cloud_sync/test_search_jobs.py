"""Semantic search over a tenant's calls, the job queue that indexes them, reps' own calls, managers'
comments and the admin's discard, all over real HTTP on both stores (SQLite with the in-process queue;
PostgreSQL + pgvector with procrastinate)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from cloud_sync.client import SyncClient, SyncRefused
from cloud_sync.server.jobs import JobKind, JobStatus, wait_for_jobs
from cloud_sync.server.store import Role
from cloud_sync.server.tasks import TextEmbedder
from cloud_sync.server.tokens import issue_token
from edge.call_store import CallStore
from edge.sync import call_upload
from scripts.corpus.manifests import corpus_manifest
from scripts.corpus.schema import load_split
from tests.cloud_sync.conftest import REP, Cloud, LoopbackServer, StoreKind, recorded_call


def _auth(cloud: Cloud, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {cloud.tokens[who]}"}


def _upload_corpus(cloud: Cloud, count: int) -> list[Any]:
    calls = load_split("test")[:count]
    with SyncClient(cloud.url, cloud.tokens["a-rep"]) as client:
        for call in calls:
            client.upload(*corpus_manifest(call, REP))
    jobs = wait_for_jobs(cloud.jobs, "a", timeout_s=120)
    assert [j.status for j in jobs] == [JobStatus.DONE] * count, jobs
    return calls


def test_a_manager_finds_what_customers_said_across_calls(cloud: Cloud) -> None:
    calls = _upload_corpus(cloud, 4)
    labelled = {(c.id, m.utterance) for c in calls for m in c.moments if m.type == "competitor_mentioned"}
    assert labelled, "the test split's first calls label competitor mentions"
    with httpx.Client(base_url=cloud.url) as http:
        r = http.get("/v1/search", params={"q": "we got a quote from another company", "role": "customer",
                                           "limit": 5}, headers=_auth(cloud, "a-manager"))  # fmt: skip
        assert r.status_code == 200, r.text
        hits = r.json()
        assert len(hits) == 5 and all(h["role"] == "customer" for h in hits)
        assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
        found = {(h["call_id"], h["utterance_id"]) for h in hits}
        assert found & labelled, f"no labelled competitor mention among {[h['text'] for h in hits]}"
        # Every hit cites a real utterance of that call, with its times and speaker.
        for h in hits:
            call = cloud.store.manifest("a", h["call_id"])
            u = next(u for u in call.utterances if u.id == h["utterance_id"])
            assert (u.start_ts, u.end_ts, u.speaker_id, u.text) == (h["start_ts"], h["end_ts"], h["speaker_id"],
                                                                    h["text"])  # fmt: skip
        # Tenant b finds nothing of tenant a's; a rep does not search; bad queries are clear 4xx.
        assert http.get("/v1/search", params={"q": "quote"}, headers=_auth(cloud, "b-manager")).json() == []
        assert http.get("/v1/search", params={"q": "quote"}, headers=_auth(cloud, "a-rep")).status_code == 403
        for bad in ({"q": ""}, {"q": "x" * 501}, {"q": "quote", "limit": 0}, {"q": "quote", "role": "boss"}):
            r = http.get("/v1/search", params=bad, headers=_auth(cloud, "a-manager"))
            assert r.status_code == 422 and r.json()["error"] == "invalid_request", bad


def test_indexing_is_idempotent_and_jobs_are_not_duplicated(cloud: Cloud, text_embedder: TextEmbedder) -> None:
    call = load_split("test")[0]
    manifest, audio = corpus_manifest(call, REP)
    with SyncClient(cloud.url, cloud.tokens["a-rep"]) as client:
        client.upload(manifest, audio)
        for _ in range(3):  # the device did not hear the confirmation and asks again
            client.upload(manifest, audio)
    jobs = wait_for_jobs(cloud.jobs, "a", timeout_s=60)
    assert {j.kind for j in jobs} == {JobKind.INDEX_CALL} and all(j.status == JobStatus.DONE for j in jobs)
    indexed = cloud.store.indexed_count("a", manifest.call_id)
    assert indexed == len(manifest.utterances)
    cloud.jobs.enqueue(JobKind.INDEX_CALL, "a", manifest.call_id)
    wait_for_jobs(cloud.jobs, "a", timeout_s=60)
    assert cloud.store.indexed_count("a", manifest.call_id) == indexed
    hits = cloud.store.search("a", text_embedder.embed([manifest.utterances[0].text])[0], None, 1)
    assert hits[0].utterance_id == manifest.utterances[0].id and hits[0].score > 0.99


class FailingEmbedder:
    """The real embedder, failing its first ``failures`` calls (a model that would not load, say)."""

    def __init__(self, real: TextEmbedder, failures: int) -> None:
        self.real = real
        self.failures = failures

    def embed(self, texts: list[str]) -> np.ndarray:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("embedder unavailable")
        return self.real.embed(texts)


def test_a_failing_job_is_retried_then_shown_failed_until_an_admin_retries_it(
    store_kind: StoreKind, text_embedder: TextEmbedder, tmp_path: Path
) -> None:
    embedder = FailingEmbedder(text_embedder, failures=3)  # as many as the attempts allowed (FAST_JOBS)
    server = LoopbackServer(store_kind, embedder)
    server.start()
    try:
        assert server.store is not None and server.jobs is not None
        server.store.create_tenant("a", "A")
        server.store.create_tenant("b", "B")
        rep = issue_token(server.store, "a", Role.REP, subject=REP)[1]
        admin = {"Authorization": f"Bearer {issue_token(server.store, 'a', Role.ADMIN)[1]}"}
        other_admin = {"Authorization": f"Bearer {issue_token(server.store, 'b', Role.ADMIN)[1]}"}
        manifest, audio = corpus_manifest(load_split("test")[1], REP)
        with SyncClient(server.url, rep) as client:
            client.upload(manifest, audio)
        [job] = wait_for_jobs(server.jobs, "a", timeout_s=60)
        with httpx.Client(base_url=server.url) as http:
            failed = http.get("/v1/jobs", params={"status": "failed"}, headers=admin).json()
            assert [(j["id"], j["attempts"], j["call_id"]) for j in failed] == [(job.id, 3, manifest.call_id)]
            assert "RuntimeError: embedder unavailable" in failed[0]["error"]
            assert http.get("/v1/jobs", headers=other_admin).json() == []
            assert http.post(f"/v1/jobs/{job.id}/retry", headers=other_admin).status_code == 404
            assert http.get("/v1/jobs", headers={"Authorization": f"Bearer {rep}"}).status_code == 403
            r = http.post(f"/v1/jobs/{job.id}/retry", headers=admin)
            assert r.status_code == 200, r.text
            [done] = wait_for_jobs(server.jobs, "a", timeout_s=60)
            assert done.status == JobStatus.DONE and done.error is None
            again = http.post(f"/v1/jobs/{job.id}/retry", headers=admin)
            assert again.status_code == 409 and again.json()["error"] == "not_failed"
        assert server.store.indexed_count("a", manifest.call_id) == len(manifest.utterances)
    finally:
        server.stop()


def test_queued_jobs_survive_a_restart(store_kind: StoreKind, text_embedder: TextEmbedder) -> None:
    """A job queued by a server that stops before its worker runs it is run by the next server."""
    store = store_kind.make_store()
    store.create_tenant("a", "A")
    manifest, audio = corpus_manifest(load_split("test")[2], REP)
    store.put_manifest("a", manifest)
    store.put_chunk("a", manifest.call_id, 0, audio)
    store.complete("a", manifest.call_id)
    queue = store_kind.make_jobs(store, text_embedder)  # never started: the server died first
    queue.enqueue(JobKind.INDEX_CALL, "a", manifest.call_id)
    assert [j.status for j in queue.jobs("a")] == [JobStatus.QUEUED]
    _close(queue)
    store.close()

    store = store_kind.make_store()
    queue = store_kind.make_jobs(store, text_embedder)
    try:
        assert queue.run_pending() == 1
        assert [j.status for j in queue.jobs("a")] == [JobStatus.DONE]
        assert store.indexed_count("a", manifest.call_id) == len(manifest.utterances)
    finally:
        _close(queue)
        store.close()


def _close(queue: Any) -> None:
    queue.stop()
    if hasattr(queue, "close"):
        queue.close()


def test_a_rep_reaches_only_their_own_calls(cloud: Cloud, tmp_path: Path) -> None:
    edge = CallStore(tmp_path / "edge.db")
    manifest, audio = call_upload(edge, recorded_call(edge))  # rep marcus's call
    cloud.tokens["a-jo"] = issue_token(cloud.store, "a", Role.REP, subject="jo")[1]
    with SyncClient(cloud.url, cloud.tokens["a-jo"]) as jo, pytest.raises(SyncRefused, match="403"):
        jo.upload(manifest, audio)  # jo cannot upload marcus's call
    with SyncClient(cloud.url, cloud.tokens["a-rep"]) as marcus:
        marcus.upload(manifest, audio)
    with httpx.Client(base_url=cloud.url, headers=_auth(cloud, "a-jo")) as http:
        call = manifest.call_id
        assert http.get(f"/v1/calls/{call}/upload").status_code == 404
        assert http.post(f"/v1/calls/{call}/complete").status_code == 404
        sha = hashlib.sha256(b"x").hexdigest()
        r = http.put(f"/v1/calls/{call}/audio", params={"offset": 0}, content=b"x", headers={"X-Chunk-SHA256": sha})
        assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_managers_comment_on_utterances_of_their_tenants_calls(cloud: Cloud, tmp_path: Path) -> None:
    edge = CallStore(tmp_path / "edge.db")
    manifest, audio = call_upload(edge, recorded_call(edge))
    with SyncClient(cloud.url, cloud.tokens["a-rep"]) as client:
        client.upload(manifest, audio)
    path = f"/v1/calls/{manifest.call_id}/comments"
    with httpx.Client(base_url=cloud.url) as http:
        body = {"utterance_id": "u003", "body": "Good question here: it opened up the budget."}
        r = http.post(path, json=body, headers=_auth(cloud, "a-manager"))
        assert r.status_code == 201, r.text
        assert r.json()["author"] == REP and r.json()["utterance_id"] == "u003"
        listed = http.get(path, headers=_auth(cloud, "a-admin")).json()
        assert [(c["utterance_id"], c["body"]) for c in listed] == [("u003", body["body"])]
        missing = http.post(path, json={"utterance_id": "u999", "body": "?"}, headers=_auth(cloud, "a-manager"))
        assert missing.status_code == 404 and "u999" in missing.json()["message"]
        assert http.post(path, json=body, headers=_auth(cloud, "a-rep")).status_code == 403
        assert http.post(path, json=body, headers=_auth(cloud, "b-manager")).status_code == 404
        assert http.get(path, headers=_auth(cloud, "b-manager")).status_code == 404
        assert (
            http.post(path, json={"utterance_id": "u003", "body": ""}, headers=_auth(cloud, "a-manager")).status_code
            == 422
        )


def test_rubric_versions_cannot_be_rewritten_in_either_database(cloud: Cloud) -> None:
    from rubric_cache.starter import starter_rubric

    cloud.store.rubrics.create("a", starter_rubric("hvac"), "dana", None)
    with pytest.raises(Exception, match="immutable"), cloud.store.tx(write=True) as t:
        t.q("UPDATE rubric_versions SET note = 'rewritten' WHERE tenant = 'a'")
    with pytest.raises(Exception, match="immutable"), cloud.store.tx(write=True) as t:
        t.q("DELETE FROM rubric_versions WHERE tenant = 'a'")
    assert cloud.store.rubrics.get("a", 1).note == ""


def test_an_admin_issues_and_revokes_their_tenants_tokens(cloud: Cloud) -> None:
    with httpx.Client(base_url=cloud.url) as http:
        body = {"role": "manager", "subject": "dana", "ttl_days": 30}
        assert http.post("/v1/tokens", json=body, headers=_auth(cloud, "a-manager")).status_code == 403
        r = http.post("/v1/tokens", json=body, headers=_auth(cloud, "a-admin"))
        assert r.status_code == 201, r.text
        issued = r.json()
        dana = {"Authorization": f"Bearer {issued['token']}"}
        assert http.get("/v1/calls", headers=dana).status_code == 200
        assert http.post("/v1/tokens", json={"role": "rep", "subject": "../x"}, headers=_auth(cloud, "a-admin")
                         ).status_code == 422  # fmt: skip
        # Tenant b's admin cannot revoke it (nor tell that it exists); tenant a's can.
        assert http.delete(f"/v1/tokens/{issued['token_id']}", headers=_auth(cloud, "b-admin")).status_code == 404
        assert http.delete(f"/v1/tokens/{issued['token_id']}", headers=_auth(cloud, "a-admin")).status_code == 204
        assert http.get("/v1/calls", headers=dana).status_code == 401
