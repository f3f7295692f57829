"""Property-based fuzz of the API on a real loopback server: whatever is sent, with whatever token, the
service answers a clear 4xx (never a 5xx), and tenant b's requests never see tenant a's call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud_sync.client import SyncClient
from cloud_sync.server.jobs import JobStatus, wait_for_jobs
from edge.call_store import CallStore
from edge.sync import call_upload
from tests.cloud_sync.conftest import Cloud, recorded_call

ENDPOINTS = [
    ("PUT", "/v1/calls/{id}"),
    ("GET", "/v1/calls/{id}/upload"),
    ("PUT", "/v1/calls/{id}/audio"),
    ("POST", "/v1/calls/{id}/complete"),
    ("GET", "/v1/calls"),
    ("GET", "/v1/calls/{id}"),
    ("GET", "/v1/rubrics/active"),
    ("GET", "/v1/rubrics/{n}"),
    ("POST", "/v1/rubrics"),
    ("POST", "/v1/rubrics/{n}/activate"),
    ("DELETE", "/v1/calls/{id}/upload"),
    ("POST", "/v1/calls/{id}/comments"),
    ("GET", "/v1/calls/{id}/comments"),
    ("GET", "/v1/search"),
    ("GET", "/v1/jobs"),
    ("POST", "/v1/jobs/{n}/retry"),
    ("POST", "/v1/tokens"),
    ("DELETE", "/v1/tokens/{n}"),
    ("POST", "/v1/library"),
    ("GET", "/v1/library"),
    ("GET", "/v1/calls/{id}/report"),
    ("GET", "/v1/calls/{id}/audio.wav"),
    ("POST", "/v1/session"),
    ("GET", "/calls/{id}"),
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def test_fuzzed_requests_get_clear_4xx_and_never_cross_tenants(cloud: Cloud, tmp_path: Path) -> None:
    edge = CallStore(tmp_path / "edge.db")
    manifest, audio = call_upload(edge, recorded_call(edge))
    with SyncClient(cloud.url, cloud.tokens["a-rep"]) as client:
        client.upload(manifest, audio)
    a_call = manifest.call_id
    assert [j.status for j in wait_for_jobs(cloud.jobs, "a", timeout_s=60)] == [JobStatus.DONE]  # indexed: searchable
    tokens = [cloud.tokens["b-rep"], cloud.tokens["b-manager"], cloud.tokens["b-admin"], "rl_0_forged", ""]

    @settings(
        max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        endpoint=st.sampled_from(ENDPOINTS),
        call_id=st.sampled_from([a_call, "x", "../etc/passwd", "%00", a_call.upper()]) | st.text(max_size=20),
        number=st.integers(min_value=-3, max_value=10**12),
        token=st.sampled_from(tokens),
        body=st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=300)),
        offset=st.one_of(st.none(), st.integers(min_value=-5, max_value=10**9), st.text(max_size=5)),
        checksum=st.one_of(st.none(), st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=70)),
    )
    def probe(
        endpoint: tuple[str, str], call_id: str, number: int, token: str, body: bytes, offset: Any, checksum: Any
    ) -> None:
        method, template = endpoint
        path = template.format(id=quote(call_id, safe="") or "x", n=number)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if checksum is not None:
            headers["X-Chunk-SHA256"] = checksum
        params = {} if offset is None else {"offset": str(offset)}
        if template == "/v1/search":
            params["q"] = call_id  # tenant a's call said "line 0" … "line 5"; tenant b must find none of it
        with httpx.Client(base_url=cloud.url) as http:
            response = http.request(method, path, content=body, headers=headers, params=params)
        assert response.status_code < 500, (method, path, response.status_code, response.text[:300])
        if response.status_code >= 400:
            error = response.json()
            assert set(error) == {"error", "message"}, error
        assert a_call not in response.text or a_call in path, f"tenant a's call leaked to {path}"
        assert response.status_code != 200 or not path.endswith(a_call), "tenant b read tenant a's call"

    probe()
    # Tenant a's call is untouched by all of it.
    assert cloud.store.audio("a", a_call) == audio and cloud.store.upload_state("a", a_call).complete
