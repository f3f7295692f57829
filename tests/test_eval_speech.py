"""scripts/eval_speech.py on a rendered call: the table, and the JSON summary as the last line; the
confidence calibration (scripts/calibrate_speech.py) on the call store it keeps."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
from pyannote.core import Annotation, Segment

from edge.attribution import AttributionSettings
from edge.frames import Role, Utterance
from scripts import calibrate_speech, eval_speech
from scripts.speech_eval.metrics import role_time, utterance_role_correct


def test_eval_reports_both_passes_and_the_summary_keys(
    rendered: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "corpus" / "kitchen"
    data.mkdir(parents=True)
    wav = rendered["kitchen"]
    for path in wav.parent.glob(f"{wav.stem}.*"):
        (data / path.name).symlink_to(path)
    keep = tmp_path / "stores"
    assert eval_speech.main(["--data", str(data), "--keep", str(keep)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    overall = summary["overall"]
    for key in ("der_online", "der_second_pass", "wer", "role_accuracy", "rtf"):
        assert isinstance(overall[key], float), key
    (only,) = summary["files"]
    assert only["enrolled"] is True
    assert 0.0 <= overall["der_online"] < 30.0 and 0.0 <= overall["wer"] < 40.0
    assert overall["role_accuracy"] >= 0.7  # all-rep would score 0.55; see test_speech_pipeline.py
    assert any(line.startswith("kitchen/short-hvac") for line in lines)

    # The kept store is what calibrate_speech reads: every online utterance a reference speaker covers is
    # scored, as the summary's reliability table scored it.
    assert [p.name for p in keep.iterdir()] == [f"kitchen-{wav.stem}.db"]
    found = calibrate_speech.collect(keep, tmp_path / "corpus")
    scored = sum(b["count"] for b in overall["reliability"])
    assert len(found.decided) + len(found.by_turn_taking) + len(found.cross_talk) == scored > 0

    # Scored again from the kept store, without the pipeline: the same figures, and no processor time to report.
    assert eval_speech.main(["--data", str(data), "--from-stores", str(keep)]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["overall"]
    assert again["rtf"] is None and again["rtf_second_pass"] is None
    for key in ("der_online", "der_second_pass", "wer", "role_accuracy", "role_accuracy_second_pass", "confidence_ece"):
        assert again[key] == overall[key], key


def test_platt_scaling_turns_overconfidence_into_how_often_it_is_right() -> None:
    # Stored confidence 0.99 right 80 % of the time, 0.6 right 40 %: the fit must say about that, and keep order.
    decided = [(0.99, i % 5 != 0) for i in range(500)] + [(0.6, i % 5 < 2) for i in range(200)]
    calibration = calibrate_speech.fit(decided, [True, False, False, False], [True, True, False])
    assert abs(calibration.probability(0.99) - 0.8) < 0.02
    assert abs(calibration.probability(0.6) - 0.4) < 0.02
    assert calibration.turn_taking_accuracy == 0.25
    current = AttributionSettings()
    settings = calibration.settings(current)
    assert settings["short_piece_confidence"] == 0.25 and settings["cross_talk_confidence"] == 0.667
    # The settings reproduce the fit from the margin: logit(0.99) = slope * margin + offset at the current ones.
    margin = (calibrate_speech.logit(0.99) - current.confidence_offset) / current.confidence_slope
    live = 1 / (1 + math.exp(-(settings["confidence_slope"] * margin + settings["confidence_offset"])))
    assert abs(live - calibration.probability(0.99)) < 0.01
    with pytest.raises(ValueError, match="nothing to fit"):
        calibrate_speech.fit([(0.9, True)] * 10, [])


def test_role_accuracy_counts_each_second_once_when_utterances_overlap() -> None:
    reference = Annotation()
    reference[Segment(0.0, 10.0)] = "joe"
    floor = Utterance("u1", "c", "rep", Role.REP, 0.0, 8.0, "words", 1.0, 0.9)
    cross_talk = Utterance("u1o1", "c", "rep", Role.REP, 2.0, 4.0, "", 0.0, 0.5)
    parts = role_time(reference, {"joe": "rep"}, [floor, cross_talk])
    assert (parts.right, parts.total, parts.missed) == (8.0, 10.0, 2.0)


def test_role_time_tells_missed_speech_from_cross_talk_from_wrong_speakers() -> None:
    reference = Annotation()
    reference[Segment(0.0, 10.0)] = "joe"  # the rep
    reference[Segment(4.0, 5.0)] = "ann"  # a backchannel under him
    reference[Segment(12.0, 16.0)] = "ann"
    rep_turn = Utterance("u1", "c", "rep", Role.REP, 0.0, 9.0, "words", 1.0, 0.9)  # misses his last second
    her_turn = Utterance("u2", "c", "rep", Role.REP, 12.0, 16.0, "words", 1.0, 0.9)  # she is taken for him
    parts = role_time(reference, {"joe": "rep", "ann": "customer"}, [rep_turn, her_turn])
    assert (parts.total, parts.right, parts.missed, parts.overlapped) == (15.0, 9.0, 1.0, 1.0)
    assert parts.wrong == 4.0


def test_cross_talk_is_right_when_someone_of_its_role_talks_under_the_floor() -> None:
    reference = Annotation()
    reference[Segment(0.0, 10.0)] = "joe"
    reference[Segment(4.0, 4.5)] = "ann"
    roles = {"joe": "rep", "ann": "customer"}
    mm_hmm = Utterance("u2", "c", "spk1", Role.CUSTOMER, 4.0, 4.6, "", 0.0, 0.6)
    assert utterance_role_correct(reference, roles, mm_hmm) is True
    assert utterance_role_correct(reference, roles, replace(mm_hmm, start_s=6.0, end_s=6.6)) is False  # a phantom
    assert utterance_role_correct(reference, roles, replace(mm_hmm, text="mm-hmm", asr_confidence=0.9)) is False
