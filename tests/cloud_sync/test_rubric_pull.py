"""Rubrics served by the cloud and pulled by the edge's cache over real HTTP on loopback."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from cloud_sync.client import SyncClient
from rubric_cache.cache import EdgeRubricCache
from rubric_cache.starter import starter_rubric
from rubric_cache.store import RubricStore
from tests.cloud_sync.conftest import Cloud


def _auth(cloud: Cloud, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {cloud.tokens[who]}"}


def test_the_edge_pulls_the_active_rubric_and_keeps_it_offline(cloud: Cloud, tmp_path: Path) -> None:
    content = starter_rubric("hvac").model_dump(mode="json")
    with httpx.Client(base_url=cloud.url) as http:
        new = {"content": content, "parent_version": None, "note": "starter"}
        assert http.post("/v1/rubrics", json=new, headers=_auth(cloud, "a-rep")).status_code == 403
        created = http.post("/v1/rubrics", json=new, headers=_auth(cloud, "a-admin"))
        assert created.status_code == 201 and created.json()["version"] == 1
        stale = http.post("/v1/rubrics", json=new, headers=_auth(cloud, "a-admin"))
        assert stale.status_code == 409 and stale.json()["error"] == "version_conflict"
        assert http.post("/v1/rubrics/1/activate", headers=_auth(cloud, "a-admin")).status_code == 200
        # Tenant b sees none of it.
        assert http.get("/v1/rubrics/active", headers=_auth(cloud, "b-rep")).status_code == 404
        assert http.get("/v1/rubrics/1", headers=_auth(cloud, "b-manager")).status_code == 404

    client = SyncClient(cloud.url, cloud.tokens["a-rep"])
    edge = EdgeRubricCache(RubricStore(tmp_path / "edge-rubrics.db"), client)
    pulled = edge.refresh("a")
    assert (pulled.version, pulled.changed, pulled.offline) == (1, True, None)
    pinned = edge.pin("a", "hvac")
    assert pinned is not None and pinned.ref == "a@1" and pinned.content == starter_rubric("hvac")

    cloud.server.stop()
    cloud.server.store = None  # the fixture must not stop it twice
    offline = edge.refresh("a")
    assert offline.version == 1 and offline.offline is not None and "cannot reach the cloud" in offline.offline
    again = edge.pin("a", "hvac")
    assert again is not None and again.ref == "a@1"
    client.close()
    cloud.server.start()


def test_a_tenant_without_a_rubric_pulls_nothing(cloud: Cloud, tmp_path: Path) -> None:
    with SyncClient(cloud.url, cloud.tokens["b-rep"]) as client:
        edge = EdgeRubricCache(RubricStore(tmp_path / "edge-rubrics.db"), client)
        result = edge.refresh("b")
        assert result.version is None and not result.changed and result.offline is None
        pinned = edge.pin("b", "solar")
        assert pinned is not None and pinned.ref.startswith("starter:solar@")


def test_a_call_start_pulls_the_tenant_rubric_and_a_refused_token_still_coaches(
    cloud: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ridealong replay/live`` pin the rubric at the call's start: with a cloud configured they pull the
    tenant's active version first; a refused token says so and the call goes on with the cache."""
    from io import StringIO

    from rich.console import Console

    from edge.cli_calls import _pin_rubric

    with httpx.Client(base_url=cloud.url, headers=_auth(cloud, "a-admin")) as http:
        new = {"content": starter_rubric("roofing").model_dump(mode="json"), "parent_version": None}
        assert http.post("/v1/rubrics", json=new).status_code == 201
        assert http.post("/v1/rubrics/1/activate").status_code == 200
    monkeypatch.setenv("RIDEALONG_DATA", str(tmp_path))
    monkeypatch.setenv("RIDEALONG_CLOUD_URL", cloud.url)
    monkeypatch.setenv("RIDEALONG_CLOUD_TOKEN", cloud.tokens["a-rep"])
    out = StringIO()
    pinned = _pin_rubric("a", "hvac", Console(file=out))
    assert pinned is not None and pinned.ref == "a@1" and pinned.content == starter_rubric("roofing")
    monkeypatch.setenv("RIDEALONG_CLOUD_TOKEN", "rl_0_revoked")
    again = _pin_rubric("a", "hvac", Console(file=out, width=300))
    assert again is not None and again.ref == "a@1", "the cached version, not the trade's starter"
    assert "could not ask the cloud" in out.getvalue() and "401" in out.getvalue()
