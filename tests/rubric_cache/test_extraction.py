"""Extraction through the real Anthropic SDK against a loopback Messages server, through the real local
LLM on the GitLab playbook, and the `ridealong rubric` commands as processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from models.claude import ClaudeSettings
from rubric_cache.errors import ExtractionError
from rubric_cache.extraction.claude import TOOL, extract_with_claude
from rubric_cache.playbook import read_playbook
from rubric_cache.store import RubricStore
from tests.conftest import REPO
from tests.rubric_cache.messages_server import Reply, messages_server, text_message, tool_message

GITLAB = "playbooks/gitlab-handbook"


def _meddppicc_answer() -> dict[str, Any]:
    """What Claude would answer for meddppicc.md: quotes copied from the page."""
    return {
        "title": "MEDDPPICC qualification",
        "steps": [
            {
                "name": "Quantify the metrics",
                "description": "Establish the economic impact of the solution with the customer.",
                "required": True,
                "before_price": True,
                "source_quote": "Have you quantified the challenge(s) the customer is having and the impact to the "
                "organization?",
            },
            {
                "name": "Meet the economic buyer",
                "description": "Identify and meet the person who gives the final yes.",
                "required": True,
                "before_price": True,
                "source_quote": "How can you leverage your Champion to gain access?",
            },
            {
                "name": "Map the decision process",
                "description": "Learn how the decision will be made and by whom.",
                "required": True,
                "before_price": False,
                "source_quote": "What will the decision-making process look like?",
            },
        ],
    }


def _settings(url: str) -> ClaudeSettings:
    return ClaudeSettings(base_url=url, api_key="test-key", max_retries=0, timeout_s=10)


def test_claude_extraction_through_the_sdk_cites_the_playbook(shared_data: Path) -> None:
    playbook = read_playbook(shared_data / GITLAB / "meddppicc.md")
    with messages_server() as server:
        server.replies.append(Reply(tool_message(TOOL, _meddppicc_answer())))
        draft = extract_with_claude(playbook, "saas", _settings(server.url))
    (request,) = server.requests
    assert request["tool_choice"] == {"type": "tool", "name": TOOL}
    assert request["tools"][0]["input_schema"]["required"] == ["title", "steps"]
    assert "MEDDPPICC is a proven methodology" in request["messages"][0]["content"]
    assert [s.id for s in draft.content.steps] == ["quantify_the_metrics", "meet_the_economic_buyer",
                                                   "map_the_decision_process"]  # fmt: skip
    assert all(s.source_quote and playbook.contains(s.source_quote) for s in draft.content.steps)
    assert draft.method == "claude" and draft.source_sha256 == playbook.sha256


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(tool_message(TOOL, {"title": "x", "steps": [{"name": "no quote"}]})), "did not return a usable"),
        (Reply(tool_message(TOOL, {"title": "x", "steps": "all of them"})), "did not return a usable"),
        (Reply(tool_message(TOOL, {"title": "x", "steps": []}, stop_reason="max_tokens")), "cut off"),
        (Reply(text_message("Here is your rubric: ...")), "without calling record_rubric"),
        (Reply('{"id": "msg_1", "type": "mess', raw=True), "extraction with Claude failed"),
        (Reply({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}, 529), "529"),
        (Reply({"type": "error", "error": {"type": "authentication_error", "message": "bad key"}}, 401), "refused"),
    ],
    ids=["missing-fields", "wrong-type", "truncated", "no-tool-call", "broken-json", "overloaded", "bad-key"],
)
def test_a_bad_claude_answer_is_a_typed_error(shared_data: Path, reply: Reply, message: str) -> None:
    playbook = read_playbook(shared_data / GITLAB / "meddppicc.md")
    with messages_server() as server:
        server.replies.append(reply)
        with pytest.raises(ExtractionError, match=message):
            extract_with_claude(playbook, "saas", _settings(server.url))


def test_a_quote_that_is_not_in_the_playbook_is_refused(shared_data: Path) -> None:
    playbook = read_playbook(shared_data / GITLAB / "meddppicc.md")
    answer = _meddppicc_answer()
    answer["steps"][1]["source_quote"] = "Always ask for the CFO's home phone number."
    with messages_server() as server:
        server.replies.append(Reply(tool_message(TOOL, answer)))
        with pytest.raises(ExtractionError, match=r"1 step\(s\) cite text that is not in meddppicc.md"):
            extract_with_claude(playbook, "saas", _settings(server.url))


def ridealong(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **env},
        timeout=900,
    )


def test_import_review_activate_edit_and_conflict_from_the_command_line(shared_data: Path, tmp_path: Path) -> None:
    env = {"RIDEALONG_DATA": str(tmp_path), "ANTHROPIC_API_KEY": "test-key"}
    with messages_server() as server:
        env["ANTHROPIC_BASE_URL"] = server.url
        server.replies.append(Reply(tool_message(TOOL, _meddppicc_answer())))
        out = ridealong("rubric", "import", str(shared_data / GITLAB / "meddppicc.md"), "--tenant", "acme",
                        "--trade", "saas", "--json", env=env)  # fmt: skip
        assert out.returncode == 0, out.stderr
        printed = json.loads(out.stdout)
        assert [s["source_quote"] for s in printed["steps"]][2] == "What will the decision-making process look like?"
        assert "saved as tenant acme version 1 (not active)" in out.stderr
        # A truncated answer: a typed error, nothing saved, nothing activated.
        server.replies.append(Reply(tool_message(TOOL, {"title": "x", "steps": []}, stop_reason="max_tokens")))
        out = ridealong("rubric", "import", str(shared_data / GITLAB / "meddppicc.md"), "--tenant", "acme",
                        "--method", "claude", env=env)  # fmt: skip
        assert out.returncode == 2 and "cut off" in out.stderr and "Traceback" not in out.stderr
    store = RubricStore(tmp_path / "rubrics.db")
    assert store.versions("acme") == [1] and store.active("acme") is None
    store.close()

    assert ridealong("rubric", "activate", "acme", "1", env=env).returncode == 0
    exported = tmp_path / "acme.json"
    assert ridealong("rubric", "export", "acme", "-o", str(exported), env=env).returncode == 0
    edited = json.loads(exported.read_text())
    edited["content"]["steps"][2]["required"] = False
    exported.write_text(json.dumps(edited))
    out = ridealong("rubric", "import", str(exported), "--tenant", "acme", "--note", "decision map optional", env=env)
    assert out.returncode == 0 and "saved as tenant acme version 2" in out.stderr, out.stderr
    assert "required: True → False" in out.stderr
    out = ridealong("rubric", "diff", "acme", "1", "2", env=env)
    assert "~ step map_the_decision_process" in out.stdout
    # The same export, edited again from version 1 after version 2 exists: a conflict, not a lost edit.
    edited["content"]["steps"][0]["guidance"] = "ask for the number"
    exported.write_text(json.dumps(edited))
    out = ridealong("rubric", "import", str(exported), "--tenant", "acme", env=env)
    assert out.returncode == 2 and "is at version 2 but this edit starts from 1" in out.stderr
    out = ridealong("rubric", "list", env=env)
    assert "* acme@1" in out.stdout and "  acme@2" in out.stdout


def test_bad_rubric_input_is_a_clear_error(tmp_path: Path) -> None:
    env = {"RIDEALONG_DATA": str(tmp_path)}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"title": "t", "trade": "hvac", "steps": [
        {"id": "a", "name": "A", "description": "d", "weight": 0.7},
        {"id": "a", "name": "B", "description": "d", "weight": 0.7},
    ]}))  # fmt: skip
    out = ridealong("rubric", "import", str(bad), "--tenant", "acme", env=env)
    assert out.returncode == 2 and "duplicate step ids: a" in out.stderr and "Traceback" not in out.stderr
    (tmp_path / "notjson.json").write_text("{nope")
    out = ridealong("rubric", "import", str(tmp_path / "notjson.json"), "--tenant", "acme", env=env)
    assert out.returncode == 2 and "is not rubric JSON" in out.stderr
    (tmp_path / "blob.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" * 100)
    out = ridealong("rubric", "import", str(tmp_path / "blob.md"), "--tenant", "acme", env=env)
    assert out.returncode == 2 and "binary file" in out.stderr
    out = ridealong("rubric", "show", "acme", env=env)
    assert out.returncode == 2 and "has no active rubric (no versions yet)" in out.stderr


@pytest.mark.slow
def test_local_llm_extraction_on_the_gitlab_playbook_cites_real_passages(shared_data: Path, store: object) -> None:
    """The real Qwen2.5 1.5B on a real playbook page: a valid rubric, every step citing its text."""
    from models.llm import LlmSettings
    from models.loaders import load_llm
    from models.store import ModelStore
    from rubric_cache.extraction.local_llm import extract_with_local_llm

    assert isinstance(store, ModelStore)
    playbook = read_playbook(shared_data / GITLAB / "meddppicc.md")
    llm = load_llm(store, settings=LlmSettings(n_ctx=4096, n_threads=2))
    local = extract_with_local_llm(playbook, "saas", llm)
    steps = local.draft.content.steps
    print(f"{local.seconds:.0f} s, left out {local.left_out}, dropped {local.dropped}: {[s.id for s in steps]}")
    assert 3 <= len(steps) <= 10
    assert all(s.source_quote and s.source_quote in playbook.text for s in steps), "a quote must be verbatim"
    named = " ".join(s.name.lower() for s in steps)
    assert sum(w in named for w in ("metric", "economic", "decision", "champion", "pain", "paper", "compet")) >= 3
