"""scripts/eval_speech.py on a rendered call: the table, and the JSON summary as the last line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyannote.core import Annotation, Segment

from edge.frames import Role, Utterance
from scripts import eval_speech
from scripts.speech_eval.metrics import role_accuracy_parts


def test_eval_reports_both_passes_and_the_summary_keys(
    rendered: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    wav = rendered["kitchen"]
    for path in wav.parent.glob(f"{wav.stem}.*"):
        (data / path.name).symlink_to(path)
    assert eval_speech.main(["--data", str(data)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    overall = summary["overall"]
    for key in ("der_online", "der_second_pass", "wer", "role_accuracy", "rtf"):
        assert isinstance(overall[key], float), key
    (only,) = summary["files"]
    assert only["enrolled"] is True
    assert 0.0 <= overall["der_online"] < 30.0 and 0.0 <= overall["wer"] < 40.0
    assert overall["role_accuracy"] >= 0.7  # all-rep would score 0.55; see test_speech_pipeline.py
    assert any(line.startswith("data/short-hvac") for line in lines)


def test_role_accuracy_counts_each_second_once_when_utterances_overlap() -> None:
    reference = Annotation()
    reference[Segment(0.0, 10.0)] = "joe"
    floor = Utterance("u1", "c", "rep", Role.REP, 0.0, 8.0, "words", 1.0, 0.9)
    cross_talk = Utterance("u1o1", "c", "rep", Role.REP, 2.0, 4.0, "", 0.0, 0.5)
    right, total = role_accuracy_parts(reference, {"joe": "rep"}, [floor, cross_talk])
    assert (right, total) == (8.0, 10.0)
