"""The edge's rubric cache: pulled when online, kept offline, one rubric pinned per call."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.coach.coach import LiveCoach
from edge.coach.semantic import SemanticStage
from rubric_cache.cache import EdgeRubricCache
from rubric_cache.errors import VersionConflict
from rubric_cache.schema import Rubric, RubricContent
from rubric_cache.starter import starter_rubric
from rubric_cache.store import RubricStore
from tests.edge.test_coach import Script, replay, types


class CloudStandIn:
    """The cloud's side of the pull (the cloud-sync issue serves it over HTTP): a store of its own."""

    def __init__(self, path: Path) -> None:
        self.store = RubricStore(path)
        self.offline = False

    def active_rubric(self, tenant: str) -> Rubric | None:
        if self.offline:
            raise OSError("no route to host")
        return self.store.active(tenant)


def _with(content: RubricContent, **step_changes: dict[str, object]) -> RubricContent:
    data = content.model_dump(mode="json")
    for s in data["steps"]:
        s.update(step_changes.get(s["id"], {}))
    return RubricContent.model_validate(data)


def test_a_tenant_without_a_rubric_gets_its_trade_starter_and_none_without_a_trade(tmp_path: Path) -> None:
    cache = EdgeRubricCache(RubricStore(tmp_path / "edge.db"))
    pinned = cache.pin("acme", "roofing")
    assert pinned is not None and pinned.ref.startswith("starter:roofing@") and len(pinned.ref) == 28
    assert pinned.content == starter_rubric("roofing")
    assert cache.pin("acme", None) is None


def test_pull_when_online_keep_when_offline(tmp_path: Path) -> None:
    cloud = CloudStandIn(tmp_path / "cloud.db")
    v1 = cloud.store.create("acme", starter_rubric("hvac"), "ana", None)
    cloud.store.activate("acme", 1)
    cache = EdgeRubricCache(RubricStore(tmp_path / "edge.db"), cloud)
    first = cache.refresh("acme")
    assert (first.version, first.changed, first.offline) == (1, True, None)
    assert cache.store.get("acme", 1) == v1, "the cached copy is the same immutable version"

    cloud.store.create("acme", _with(v1.content, load_calculation={"required": False}), "ana", 1)
    cloud.store.activate("acme", 2)
    cloud.offline = True
    offline = cache.refresh("acme")
    assert offline.version == 1 and not offline.changed and "no route to host" in (offline.offline or "")
    pinned = cache.pin("acme", "hvac")
    assert pinned is not None and pinned.ref == "acme@1", "offline, the call uses the cached version"

    cloud.offline = False
    assert cache.refresh("acme").changed
    later = cache.pin("acme", "hvac")
    assert later is not None and later.ref == "acme@2"
    assert pinned.ref == "acme@1", "a pin taken before the update keeps its rubric"


def test_a_different_copy_of_the_same_version_is_refused(tmp_path: Path) -> None:
    edge = RubricStore(tmp_path / "edge.db")
    other = RubricStore(tmp_path / "other.db")
    edge.create("acme", starter_rubric("hvac"), "ana", None)
    forged = other.create("acme", starter_rubric("solar"), "eve", None)
    with pytest.raises(VersionConflict, match="already has a different version 1"):
        edge.put(forged)


def test_the_coach_checks_the_pinned_rubric_steps_not_the_starter() -> None:
    """The tenant made warranty optional and moved nothing else: a price without the warranty is no longer
    flagged; a price before the inspection still is."""
    script = Script()
    script.say("rep", "Let me take a look at the furnace in the basement first.")
    script.say("cust", "Sure, it's down the stairs.")
    script.say("rep", "We'd size it to the house. For the system we talked about, it's $11,400 installed, or "
               "about $159 a month with financing.")  # fmt: skip
    tenant = _with(starter_rubric("hvac"), warranty={"required": False}, load_calculation={"before_price": False})
    steps = tuple(s.id for s in tenant.before_price_steps)
    assert "warranty" not in steps and "home_inspection" in steps
    with_starter = LiveCoach("c1", "hvac", SemanticStage(None))
    with_tenant = LiveCoach("c2", "hvac", SemanticStage(None), before_price_steps=steps)
    assert types(replay(script, with_starter)) == ["step_skipped_before_price"]
    assert types(replay(script, with_tenant)) == []
