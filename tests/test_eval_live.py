"""scripts/eval_live.py: a dev call scored in text mode, and the same words scored again from a call store as an
audio run keeps them (``--from-stores``), which must give the same nudges."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from edge.call_store import CallStore
from scripts import eval_live
from scripts.live_eval.conversations import load

CALL = eval_live.CALLS / "hvac-01.json"


def summary(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.fixture
def timed_call(tmp_path: Path) -> tuple[Path, Path]:
    """A folder holding the dev call, and a folder of renders holding its copy with times (estimated from the
    words, written as a render would)."""
    data, rendered = tmp_path / "calls", tmp_path / "rendered"
    data.mkdir()
    rendered.mkdir()
    (data / CALL.name).write_text(CALL.read_text())
    times = {u.id: (u.start_s, u.end_s) for u in load(CALL).utterances}
    timed = json.loads(CALL.read_text())
    for u in timed["utterances"]:
        u["start_s"], u["end_s"] = times[u["id"]]
    (rendered / CALL.name).write_text(json.dumps(timed))
    return data, rendered


def test_stored_transcripts_replay_as_text_mode_does(
    timed_call: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, rendered = timed_call
    keep = tmp_path / "stores"
    keep.mkdir()
    store = CallStore(keep / "hvac-01.db")
    call_id = store.start_call("comfortpro-hvac", "hvac-01.wav", 16_000)
    for u in load(CALL, rendered).utterances:
        store.add_utterance(replace(u, call_id=call_id))
    store.close()

    common = ["--data", str(data), "--rendered", str(rendered), "--calls", "hvac-01", "--no-llm"]
    assert eval_live.main(common) == 0
    text = summary(capsys)
    assert eval_live.main([*common, "--audio", "kitchen", "--from-stores", str(keep)]) == 0
    stored = summary(capsys)
    assert text["overall"]["moments"] == 3 and text["overall"]["nudges"] > 0  # type: ignore[index]
    for key in ("precision", "recall", "f1", "false_nudges_per_hour", "nudges"):
        assert stored["overall"][key] == text["overall"][key], key  # type: ignore[index]
    assert stored["overall"]["mode"].startswith("stored transcripts:kitchen")  # type: ignore[index]


def test_stored_transcripts_need_the_condition_and_a_store_per_call_and_calls_must_exist(
    timed_call: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, rendered = timed_call
    with pytest.raises(SystemExit):
        eval_live.main(["--data", str(data), "--from-stores", str(tmp_path)])
    assert "--from-stores needs --audio" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        eval_live.main(["--data", str(data), "--rendered", str(rendered), "--audio", "kitchen",
                        "--from-stores", str(tmp_path), "--no-llm"])  # fmt: skip
    assert "no store" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        eval_live.main(["--data", str(data), "--calls", "hvac-01,hvac-99", "--no-llm"])
    assert "no such call: hvac-99" in capsys.readouterr().err
