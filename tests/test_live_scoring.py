from scripts.live_eval.conversations import LabelledMoment
from scripts.live_eval.scoring import FiredAt, Score


def _score(moment: LabelledMoment, fired: FiredAt) -> Score:
    score = Score()
    score.add("call", [moment], [fired])
    return score


def test_a_talk_ratio_or_monologue_nudge_just_before_the_labelled_turn_catches_it() -> None:
    # The share passes its bar as the turn before the labelled one ends (dev roofing-08: 0.3 s before); the
    # recognised words of a run pass 150 a piece early (dev solar-02 kitchen: 0.2 s before).
    ratio = _score(LabelledMoment("talk_ratio_high", "u028", 260.5, 278.3), FiredAt("talk_ratio_high", 260.2, 0.0))
    run = _score(LabelledMoment("rep_monologue", "u018", 127.3, 152.8), FiredAt("rep_monologue", 127.1, 0.0))

    for score in (ratio, run):
        assert score.overall().caught == 1
        assert score.false_nudges == [] and score.missed == []


def test_other_types_catch_only_from_the_labelled_utterance_on() -> None:
    early = _score(
        LabelledMoment("question_unanswered", "u010", 100.0, 103.0), FiredAt("question_unanswered", 99.7, 0.0)
    )
    too_early = _score(LabelledMoment("talk_ratio_high", "u028", 260.5, 278.3), FiredAt("talk_ratio_high", 230.0, 0.0))
    run_too_early = _score(LabelledMoment("rep_monologue", "u010", 100.0, 130.0), FiredAt("rep_monologue", 90.0, 0.0))

    for score in (early, too_early, run_too_early):
        assert score.overall().caught == 0
        assert len(score.false_nudges) == 1 and len(score.missed) == 1
