"""Rubric schema, the versioned store (a real SQLite file), diffs, starters and the headed-list parser."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from rubric_cache.diff import ChangeKind, diff
from rubric_cache.errors import ExtractionError, PlaybookError, RubricNotFound, UnchangedRubric, VersionConflict
from rubric_cache.extraction.headed import extract_headed
from rubric_cache.playbook import MAX_PLAYBOOK_BYTES, parse_playbook, read_playbook
from rubric_cache.schema import RubricContent
from rubric_cache.starter import TRADES, starter_rubric
from rubric_cache.store import RubricStore


def _edited(content: RubricContent, **changes: object) -> RubricContent:
    data = content.model_dump()
    steps = data["steps"]
    if "drop" in changes:
        dropped = next(s for s in steps if s["id"] == changes["drop"])
        steps = [s for s in steps if s["id"] != changes["drop"]]
        steps[-1]["weight"] += dropped["weight"]
        for s in steps:
            s["after"] = [a for a in s["after"] if a != changes["drop"]]
    if "guidance" in changes:
        steps[1]["guidance"] = changes["guidance"]
    return RubricContent.model_validate({**data, "steps": steps})


def test_every_trade_has_a_valid_starter_with_the_corpus_step_ids() -> None:
    for trade, steps in TRADES.items():
        rubric = starter_rubric(trade)
        assert [s.id for s in rubric.steps] == [s.id for s in steps]
        assert abs(sum(s.weight for s in rubric.steps) - 1) < 1e-9
        assert all(s.guidance and s.examples for s in rubric.steps), trade
        assert {s.id for s in rubric.before_price_steps} == {s.id for s in steps if s.before_price}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["steps"].append(dict(d["steps"][0])), "duplicate step ids: rapport_agenda"),
        (lambda d: d["steps"][0].update(weight=0.5), "weights sum to"),
        (lambda d: d["steps"][1].update(after=["nope"]), "must come after 'nope', which is not a step"),
        (lambda d: d["steps"][0].update(after=["discovery"]), "is listed before it"),
        (lambda d: d["steps"][0].update(id="Bad Id"), "String should match pattern"),
        (lambda d: d.update(steps=[]), "at least 1 item"),
    ],
)
def test_invalid_rubrics_say_what_is_wrong(change: object, message: str) -> None:
    data = starter_rubric("hvac").model_dump(mode="json")
    assert callable(change)
    change(data)
    with pytest.raises(ValidationError, match=message):
        RubricContent.model_validate(data)


def test_versions_are_immutable_and_activation_picks_one(tmp_path: Path) -> None:
    store = RubricStore(tmp_path / "rubrics.db")
    v1 = store.create("acme", starter_rubric("hvac"), "ana", None, note="starter")
    v2 = store.create("acme", _edited(v1.content, drop="load_calculation"), "ana", 1, note="no load calc")
    assert (v1.version, v2.version, v2.parent_version) == (1, 2, 1)
    assert store.active("acme") is None
    store.activate("acme", 1)
    assert store.active("acme") == v1
    store.activate("acme", 2)
    active = store.active("acme")
    assert active is not None and active.version == 2
    assert store.get("acme", 1) == v1, "a past version stays retrievable as it was"
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        store._conn.execute("UPDATE rubric_versions SET author = 'mallory' WHERE version = 1")
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        store._conn.execute("DELETE FROM rubric_versions")
    store.close()
    reopened = RubricStore(tmp_path / "rubrics.db")
    assert reopened.get("acme", 1) == v1 and reopened.versions("acme") == [1, 2]


def test_a_stale_edit_is_a_version_conflict_and_an_unchanged_one_is_refused(tmp_path: Path) -> None:
    store = RubricStore(tmp_path / "rubrics.db")
    v1 = store.create("acme", starter_rubric("roofing"), "ana", None)
    store.create("acme", _edited(v1.content, guidance="ask about the gutters too"), "ben", 1)
    with pytest.raises(VersionConflict, match="is at version 2 but this edit starts from 1"):
        store.create("acme", _edited(v1.content, drop="insurance_check"), "ana", 1)
    with pytest.raises(UnchangedRubric):
        store.create("acme", _edited(v1.content, guidance="ask about the gutters too"), "ana", 2)
    with pytest.raises(RubricNotFound, match="has no version 7 \\(versions 1, 2\\)"):
        store.get("acme", 7)
    assert store.versions("acme") == [1, 2]


def test_two_writers_at_once_get_one_version_each_or_a_conflict(tmp_path: Path) -> None:
    path = tmp_path / "rubrics.db"
    RubricStore(path).create("acme", starter_rubric("solar"), "ana", None)
    outcomes: list[str] = []

    def edit(who: str) -> None:
        store = RubricStore(path)
        try:
            store.create("acme", _edited(store.get("acme", 1).content, guidance=who), who, 1)
            outcomes.append("saved")
        except VersionConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=edit, args=(w,)) for w in ("ana", "ben")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "saved"]
    assert RubricStore(path).versions("acme") == [1, 2]


def test_diff_lists_added_removed_and_changed_steps() -> None:
    old = starter_rubric("hvac")
    new = _edited(_edited(old, drop="load_calculation"), guidance="ask about allergies")
    d = diff(old, new)
    kinds = {(c.step_id, c.kind) for c in d.steps}
    assert ("load_calculation", ChangeKind.REMOVED) in kinds and ("discovery", ChangeKind.CHANGED) in kinds
    text = d.render()
    assert "- step load_calculation" in text and "guidance" in text and "ask about allergies" in text
    assert diff(old, old).empty and diff(old, old).render() == "no changes"
    assert all(c.kind == ChangeKind.ADDED for c in diff(None, old).steps)


HEADED = """# Acme Heating — field guide

Some intro text about the company and its values, which is not a step.

## Sales process

1. **Greet and set the agenda**: introduce yourself and agree how the visit will go.
2. **Ask about comfort** - which rooms, when, what they have tried.
   - follow up on every answer
3. **Inspect the equipment** (before price): furnace, ducts, attic.
4. **Explain the warranty**: ten years parts, before presenting the price.
5. **Offer the maintenance plan** (optional): annual tune-up.
6. **Present the price and ask for the decision**.
"""


def test_a_headed_step_list_is_parsed_exactly_and_cites_its_items() -> None:
    playbook = parse_playbook("acme.md", HEADED.encode())
    draft = extract_headed(playbook, "hvac")
    steps = draft.content.steps
    assert [s.id for s in steps] == [
        "greet_and_set_the_agenda", "ask_about_comfort", "inspect_the_equipment", "explain_the_warranty",
        "offer_the_maintenance_plan", "present_the_price_and_ask_for_the_decision",
    ]  # fmt: skip
    assert [s.before_price for s in steps] == [False, False, True, True, False, False]
    assert [s.required for s in steps] == [True, True, True, True, False, True]
    assert all(s.source_quote and s.source_quote in HEADED for s in steps)
    assert draft.source_sha256 == playbook.sha256 and draft.method == "headed"


def test_a_free_form_playbook_has_no_headed_list(shared_data: Path) -> None:
    playbook = read_playbook(shared_data / "playbooks" / "gitlab-handbook" / "command-of-the-message.md")
    with pytest.raises(ExtractionError, match="no headed list of steps"):
        extract_headed(playbook, "saas")


def test_bad_playbooks_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="empty"):
        parse_playbook("e.md", b"  \n\n ")
    with pytest.raises(PlaybookError, match="binary"):
        parse_playbook("p.pdf", b"%PDF-1.7\x00\x01\x02" * 50)
    with pytest.raises(PlaybookError, match="not UTF-8"):
        parse_playbook("l.txt", "café ".encode("latin-1") * 50)
    with pytest.raises(PlaybookError, match="words"):
        parse_playbook("s.md", b"# Steps\n1. hi")
    huge = tmp_path / "huge.md"
    huge.write_bytes(b"word " * (MAX_PLAYBOOK_BYTES // 5 + 10))
    with pytest.raises(PlaybookError, match="MB"):
        read_playbook(huge)
    with pytest.raises(PlaybookError, match="no such file"):
        read_playbook(tmp_path / "missing.md")
