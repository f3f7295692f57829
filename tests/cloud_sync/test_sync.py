"""Edge → cloud over real HTTP on loopback (SQLite store): exactly once, byte-identical, resumable,
and no tenant ever sees another's calls."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cloud_sync.client import SyncClient, SyncGaveUp, SyncRefused, SyncSettings
from cloud_sync.server.store import Role
from cloud_sync.server.tokens import issue_token
from edge.call_store import CallStore
from edge.sync import call_upload, sync_pending
from tests.cloud_sync.conftest import REP, Cloud, recorded_call
from tests.cloud_sync.cutting_proxy import CuttingProxy

SMALL = SyncSettings(chunk_bytes=64 * 1024, attempts=12, backoff_initial_s=0.01, backoff_max_s=0.05)


@pytest.fixture
def clients() -> Iterator[list[SyncClient]]:
    """Every client a test makes, closed at its end (each holds a connection pool)."""
    made: list[SyncClient] = []
    yield made
    for c in made:
        c.close()


def _client(cloud: Cloud, made: list[SyncClient], who: str = "a-rep", **kw: Any) -> SyncClient:
    client = SyncClient(cloud.url, cloud.tokens[who], kw.pop("settings", SMALL), **kw)
    made.append(client)
    return client


def test_a_call_arrives_once_and_byte_identical(cloud: Cloud, tmp_path: Path, clients: list[SyncClient]) -> None:
    edge = CallStore(tmp_path / "edge.db")
    call_id = recorded_call(edge)
    client = _client(cloud, clients)
    seen: list[int] = []
    outcome = sync_pending(edge, client, lambda p: seen.append(p.sent_bytes))
    assert outcome.synced == (call_id,) and outcome.failed == ()
    manifest, audio = call_upload(edge, call_id)
    assert cloud.store.audio("a", call_id) == audio == edge.audio_pcm16(call_id)
    assert cloud.store.manifest("a", call_id) == manifest
    assert seen == sorted(seen) and seen[-1] == len(audio) and len(seen) == -(-len(audio) // SMALL.chunk_bytes)
    assert edge.pending_uploads() == [] and edge.events(call_id)[-1]["kind"] == "synced"
    # Syncing again, or re-sending the whole call, changes nothing on the server.
    assert sync_pending(edge, client).synced == ()
    client.upload(manifest, audio)
    assert [c.call_id for c in cloud.store.calls("a")] == [call_id]


class Flaky(httpx.BaseTransport):
    """Drops connections at random: before the request reaches the server, or after the server has acted
    on it but before the client hears back (the case that makes retries dangerous)."""

    def __init__(self, rate: float, seed: int) -> None:
        self._inner = httpx.HTTPTransport()
        self._rng = random.Random(seed)
        self.rate = rate
        self.dropped_before = self.dropped_after = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        roll = self._rng.random()
        if roll < self.rate / 2:
            self.dropped_before += 1
            raise httpx.ConnectError("dropped before sending", request=request)
        response = self._inner.handle_request(request)
        if roll < self.rate:
            response.read()
            response.close()
            self.dropped_after += 1
            raise httpx.ReadError("dropped before the reply arrived", request=request)
        return response

    def close(self) -> None:
        self._inner.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dropped_connections_at_random_points_still_deliver_every_call_once(
    cloud: Cloud, tmp_path: Path, seed: int, clients: list[SyncClient]
) -> None:
    edge = CallStore(tmp_path / "edge.db")
    calls = [recorded_call(edge, seconds=8.0, seed=seed * 10 + i) for i in range(3)]
    flaky = Flaky(rate=0.35, seed=seed)
    client = _client(cloud, clients, transport=flaky, sleep=lambda _: None)
    outcome = sync_pending(edge, client)
    assert sorted(outcome.synced) == sorted(calls), outcome.failed
    assert flaky.dropped_before > 0 and flaky.dropped_after > 0 and client.retries > 0
    assert sorted(c.call_id for c in cloud.store.calls("a")) == sorted(calls)
    for call_id in calls:
        assert cloud.store.audio("a", call_id) == edge.audio_pcm16(call_id)


@pytest.mark.parametrize("seed", [11, 12])
def test_a_proxy_cutting_connections_mid_request_and_mid_reply_loses_and_doubles_nothing(
    cloud: Cloud, tmp_path: Path, seed: int, clients: list[SyncClient]
) -> None:
    edge = CallStore(tmp_path / "edge.db")
    calls = [recorded_call(edge, seconds=12.0, seed=seed * 10 + i) for i in range(3)]
    proxy = CuttingProxy(cloud.server.port, seed=seed)
    try:
        client = SyncClient(proxy.url, cloud.tokens["a-rep"], SMALL, sleep=lambda _: None)
        clients.append(client)
        outcome = sync_pending(edge, client)
    finally:
        proxy.close()
    assert sorted(outcome.synced) == sorted(calls), outcome.failed
    assert proxy.counts.requests > 0 and proxy.counts.replies > 0, proxy.counts
    assert sorted(c.call_id for c in cloud.store.calls("a")) == sorted(calls)
    for call_id in calls:
        assert cloud.store.audio("a", call_id) == edge.audio_pcm16(call_id)


def test_a_skewed_edge_clock_changes_nothing(cloud: Cloud, tmp_path: Path, clients: list[SyncClient]) -> None:
    """The edge's clock is days off (a phone that lost its time): timestamps travel as data, the server
    judges tokens by its own clock, and the call arrives as it was."""
    edge = CallStore(tmp_path / "edge.db")
    manifests = []
    for skew in (timedelta(days=3), -timedelta(days=400)):
        manifest, audio = call_upload(edge, recorded_call(edge, seed=int(skew.days) % 97))
        skewed = manifest.model_copy(
            update={
                "started_at": manifest.started_at + skew,
                "ended_at": (manifest.ended_at or manifest.started_at) + skew,
            }
        )
        _client(cloud, clients).upload(skewed, audio)
        manifests.append(skewed)
    for m in manifests:
        assert cloud.store.manifest("a", m.call_id) == m and cloud.store.upload_state("a", m.call_id).complete


def test_the_server_killed_mid_upload_then_restarted_resumes_where_it_stopped(
    cloud: Cloud, tmp_path: Path, clients: list[SyncClient]
) -> None:
    edge = CallStore(tmp_path / "edge.db")
    call_id = recorded_call(edge, seconds=30.0)
    manifest, audio = call_upload(edge, call_id)
    stop_after = 3

    def progress(p: Any) -> None:
        if p.sent_bytes >= stop_after * SMALL.chunk_bytes and cloud.server.store is not None:
            cloud.server.stop()
            cloud.server.store = None

    quick = SyncSettings(chunk_bytes=SMALL.chunk_bytes, attempts=3, backoff_initial_s=0.01, backoff_max_s=0.02)
    with pytest.raises(SyncGaveUp, match="failed 3 times"):
        _client(cloud, clients, settings=quick).upload(manifest, audio, progress)
    cloud.server.start()  # same port, same database
    assert cloud.store.upload_state("a", call_id).received_bytes == stop_after * SMALL.chunk_bytes
    sent: list[int] = []
    state = _client(cloud, clients).upload(manifest, audio, lambda p: sent.append(p.sent_bytes))
    assert state.complete and sent[0] == (stop_after + 1) * SMALL.chunk_bytes, "it resumed, not restarted"
    assert cloud.store.audio("a", call_id) == audio


def test_offline_for_days_the_call_waits_in_the_outbox(tmp_path: Path) -> None:
    edge = CallStore(tmp_path / "edge.db")
    call_id = recorded_call(edge)
    with SyncClient("http://127.0.0.1:9", "rl_x_y", SyncSettings(attempts=2, backoff_initial_s=0.01)) as nowhere:
        outcome = sync_pending(edge, nowhere)
    assert outcome.synced == () and outcome.failed[0][0] == call_id
    (row,) = edge.outbox()
    assert row["state"] == "pending" and row["attempts"] == 1 and "ConnectError" in row["last_error"]


def test_tenants_cannot_read_or_detect_each_other(cloud: Cloud, tmp_path: Path, clients: list[SyncClient]) -> None:
    edge = CallStore(tmp_path / "edge.db")
    call_id = recorded_call(edge)
    sync_pending(edge, _client(cloud, clients))
    headers = {"b": {"Authorization": f"Bearer {cloud.tokens['b-manager']}"},
               "a": {"Authorization": f"Bearer {cloud.tokens['a-manager']}"}}  # fmt: skip
    with httpx.Client(base_url=cloud.url) as http:
        assert http.get(f"/v1/calls/{call_id}", headers=headers["a"]).status_code == 200
        theirs = http.get(f"/v1/calls/{call_id}", headers=headers["b"])
        missing = http.get("/v1/calls/no-such-call", headers=headers["b"])
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["error"] == missing.json()["error"] == "not_found"
        for path in (f"/v1/calls/{call_id}/upload", f"/v1/calls/{call_id}/complete"):
            method = "POST" if path.endswith("complete") else "GET"
            rb = {"Authorization": f"Bearer {cloud.tokens['b-rep']}"}
            assert http.request(method, path, headers=rb).status_code == 404
        assert http.get("/v1/calls", headers=headers["b"]).json() == []
        assert [c["call_id"] for c in http.get("/v1/calls", headers=headers["a"]).json()] == [call_id]
        # A rep may upload but not read the tenant's calls.
        rep = {"Authorization": f"Bearer {cloud.tokens['a-rep']}"}
        assert http.get("/v1/calls", headers=rep).status_code == 403


def test_bad_tokens_bodies_and_chunks_are_clear_4xx(cloud: Cloud, tmp_path: Path, clients: list[SyncClient]) -> None:
    edge = CallStore(tmp_path / "edge.db")
    manifest, audio = call_upload(edge, recorded_call(edge))
    token_id, token = issue_token(cloud.store, "a", Role.REP, subject=REP)
    cloud.store.revoke_token("a", token_id)
    cloud.tokens["revoked"] = token
    with pytest.raises(SyncRefused, match="401 unauthenticated"):
        _client(cloud, clients, who="revoked").upload(manifest, audio)
    cloud.tokens["expired"] = issue_token(cloud.store, "a", Role.REP, ttl=-timedelta(seconds=1), subject=REP)[1]
    with pytest.raises(SyncRefused, match="401"):
        _client(cloud, clients, who="expired").upload(manifest, audio)
    rep = {"Authorization": f"Bearer {cloud.tokens['a-rep']}"}
    with httpx.Client(base_url=cloud.url, headers=rep) as http:
        r = http.put(
            f"/v1/calls/{manifest.call_id}", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 422 and r.json()["error"] == "invalid_request"
        body = manifest.model_dump(mode="json") | {"end_s": -1}
        r = http.put(f"/v1/calls/{manifest.call_id}", json=body)
        assert r.status_code == 422 and "end_s" in r.json()["message"]
        r = http.put(f"/v1/calls/{manifest.call_id}", content=b"x" * (17 << 20))
        assert r.status_code == 413 and r.json()["error"] == "too_large"
        assert http.put(f"/v1/calls/{manifest.call_id}", json=manifest.model_dump(mode="json")).status_code == 201
        chunk = audio[:1000]
        r = http.put(f"/v1/calls/{manifest.call_id}/audio", params={"offset": 0}, content=chunk,
                     headers={"X-Chunk-SHA256": hashlib.sha256(b"other").hexdigest()})  # fmt: skip
        assert r.status_code == 400 and r.json()["error"] == "chunk_checksum"
        r = http.put(f"/v1/calls/{manifest.call_id}/audio", params={"offset": 5000}, content=chunk,
                     headers={"X-Chunk-SHA256": hashlib.sha256(chunk).hexdigest()})  # fmt: skip
        assert r.status_code == 409 and r.json()["error"] == "wrong_offset"
        assert http.post(f"/v1/calls/{manifest.call_id}/complete").json()["error"] == "incomplete"
        other = manifest.model_dump(mode="json") | {"source": "somewhere else"}
        r = http.put(f"/v1/calls/{manifest.call_id}", json=other)
        assert r.status_code == 409 and r.json()["error"] == "manifest_differs"
        assert http.get("/openapi.json").status_code == 200


def test_audio_that_conflicts_with_what_the_server_holds_is_refused_not_retried_forever(
    cloud: Cloud, tmp_path: Path, clients: list[SyncClient]
) -> None:
    """The same call id, the same manifest, other bytes (a corrupted local store): a clear refusal."""
    edge = CallStore(tmp_path / "edge.db")
    manifest, audio = call_upload(edge, recorded_call(edge))
    first = SMALL.chunk_bytes
    with httpx.Client(base_url=cloud.url, headers={"Authorization": f"Bearer {cloud.tokens['a-rep']}"}) as http:
        assert http.put(f"/v1/calls/{manifest.call_id}", json=manifest.model_dump(mode="json")).status_code == 201
        wrong = bytes(b ^ 0xFF for b in audio[:first])
        r = http.put(f"/v1/calls/{manifest.call_id}/audio", params={"offset": 0}, content=wrong,
                     headers={"X-Chunk-SHA256": hashlib.sha256(wrong).hexdigest()})  # fmt: skip
        assert r.status_code == 200
    with pytest.raises(SyncRefused, match="409 checksum_mismatch"):  # it resumes after them, then the check fails
        _client(cloud, clients).upload(manifest, audio)
    # The way out: an admin discards the corrupt upload, and the device sends the call afresh.
    path = f"/v1/calls/{manifest.call_id}/upload"
    with httpx.Client(base_url=cloud.url) as http:
        for who, status in (("a-rep", 403), ("a-manager", 403), ("b-admin", 404), ("a-admin", 204)):
            assert http.delete(path, headers={"Authorization": f"Bearer {cloud.tokens[who]}"}).status_code == status
    _client(cloud, clients).upload(manifest, audio)
    assert cloud.store.audio("a", manifest.call_id) == audio
    with httpx.Client(base_url=cloud.url) as http:
        r = http.delete(path, headers={"Authorization": f"Bearer {cloud.tokens['a-admin']}"})
        assert r.status_code == 409 and r.json()["error"] == "complete"
