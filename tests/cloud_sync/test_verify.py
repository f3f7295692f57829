"""The grounding verifier on a real corpus call: what holds, and each way a citation can be made up."""

from __future__ import annotations

import pytest

from cloud_sync.contract import MOMENT_SIDE, Citation, Claim, StepAssessment, WireUtterance
from cloud_sync.deepdive.prompt import MOMENTS
from cloud_sync.deepdive.providers import merge_answers
from cloud_sync.deepdive.review import read_answer
from cloud_sync.deepdive.verify import GroundingVerifier, quote_occurs
from edge.coach.taxonomy import MomentType
from rubric_cache.starter import starter_rubric
from scripts.corpus.manifests import corpus_manifest
from scripts.corpus.schema import load_split

CALL = load_split("dev")[0]
MANIFEST, _ = corpus_manifest(CALL, "marcus")
BY_ID = {u.id: u for u in MANIFEST.utterances}


def cite(u: WireUtterance, quote: str | None = None, **change: object) -> Citation:
    c = Citation(utterance_id=u.id, start_ts=u.start_ts, end_ts=u.end_ts, speaker_id=u.speaker_id,
                 quote=quote if quote is not None else " ".join(u.text.split()[:5]))  # fmt: skip
    return c.model_copy(update=change)


def first(role: str, min_words: int = 6) -> WireUtterance:
    return next(u for u in MANIFEST.utterances if u.role == role and len(u.text.split()) >= min_words)


def test_the_moment_types_match_the_live_coachs() -> None:
    assert set(MOMENT_SIDE) == set(MOMENTS) == {m.value for m in MomentType}


def test_a_true_citation_holds() -> None:
    verifier = GroundingVerifier(MANIFEST.utterances)
    customer = first("customer")
    assert verifier.check([cite(customer)], "customer").verified
    words = customer.text.split()
    fragments = f"{' '.join(words[:2])} ... {' '.join(words[-2:])}"
    assert verifier.check([cite(customer, fragments.upper())], None).verified  # case and gaps do not count


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"utterance_id": "u999"}, "no such utterance"),
        ({"quote": "we will definitely sign today"}, "is not what was said"),
        ({"speaker_id": "rep"}, "said by"),
        ({"start_ts": 999.0}, "said at"),
    ],
)
def test_made_up_citations_are_caught(change: dict[str, object], problem: str) -> None:
    verifier = GroundingVerifier(MANIFEST.utterances)
    check = verifier.check([cite(first("customer"), **change)], None)
    assert not check.verified and any(problem in p for p in check.problems), check.problems


def test_the_speaker_must_fit_the_claim_and_be_sure_enough() -> None:
    verifier = GroundingVerifier(MANIFEST.utterances)
    rep, customer = first("rep"), first("customer")
    objection = Claim(kind="miss", text="x", moment_type="price_objection_unaddressed", citations=(cite(rep),))
    checked = verifier.check_claim(objection)
    assert checked.check is not None and not checked.check.verified
    assert "customer moment" in checked.check.problems[0]
    monologue = Claim(kind="miss", text="x", moment_type="rep_monologue", citations=(cite(customer),))
    assert not verifier.check_claim(monologue).check.verified  # type: ignore[union-attr]
    unsure = [u.model_copy(update={"speaker_confidence": 0.3}) if u.id == customer.id else u
              for u in MANIFEST.utterances]  # fmt: skip
    shaky = GroundingVerifier(unsure).check([cite(customer)], "customer")
    assert not shaky.verified and "too uncertain" in shaky.problems[0]


def test_steps_covered_need_the_reps_words_and_missed_ones_need_none() -> None:
    verifier = GroundingVerifier(MANIFEST.utterances)
    rep, customer = first("rep"), first("customer")
    covered = StepAssessment(step_id="discovery", covered=True, score=2, reasoning="r", citations=(cite(rep),))
    assert verifier.check_step(covered).check.verified  # type: ignore[union-attr]
    by_customer = covered.model_copy(update={"citations": (cite(customer),)})
    assert not verifier.check_step(by_customer).check.verified  # type: ignore[union-attr]
    uncited = covered.model_copy(update={"citations": ()})
    assert not verifier.check_step(uncited).check.verified  # type: ignore[union-attr]
    missed = StepAssessment(step_id="warranty", covered=False, score=0, reasoning="never came up")
    assert verifier.check_step(missed).check.verified  # type: ignore[union-attr]


def test_quotes_match_whole_words_in_order() -> None:
    assert quote_occurs("the price", "So the price, all in, is ten grand.")
    assert not quote_occurs("price", "That is priceless.")
    assert not quote_occurs("ten grand ... the price", "So the price, all in, is ten grand.")
    assert quote_occurs("don't know", "I dont know, honestly.")
    assert not quote_occurs("...", "anything")


def test_an_answer_is_read_leniently_and_nothing_unreadable_is_lost() -> None:
    rubric = starter_rubric("hvac")
    rep = first("rep")
    c = cite(rep).model_dump()
    data = {
        "summary": "s",
        "steps": {
            rubric.steps[0].id: {"covered": True, "score": 3, "reasoning": "r", "citations": [c]},
            rubric.steps[1].id: {"covered": "maybe"},
        },
        "points": [
            {"kind": "strength", "text": "t", "moment_type": "none", "citations": [c]},
            {"kind": "strength", "text": "no citation", "moment_type": "none", "citations": []},
        ],
        "candidates": "not a list",
    }
    steps, points, candidates, notes = read_answer(data, rubric)
    assert len(steps) == len(rubric.steps) and steps[0].covered and steps[0].citations[0].utterance_id == rep.id
    assert [p.moment_type for p in points] == [None] and candidates == []
    assert len(notes) == 1 + 1 + (len(rubric.steps) - 2), notes  # the bad step, the bad point, unassessed steps


def test_part_answers_merge_into_one() -> None:
    step = {"covered": False, "score": 0, "reasoning": "", "citations": []}
    seen = {"covered": True, "score": 2, "reasoning": "in part 2", "citations": [{"utterance_id": "u9"}]}
    point = {"kind": "miss", "text": "t", "moment_type": "none", "citations": [{"utterance_id": "u3"}]}
    merged = merge_answers([
        {"summary": "First.", "steps": {"a": step, "b": step}, "points": [point], "candidates": []},
        {"summary": "Then.", "steps": {"a": seen, "b": step}, "points": [point], "candidates": []},
    ])  # fmt: skip
    assert merged["steps"]["a"] == seen and merged["steps"]["b"] == step
    assert merged["points"] == [point] and merged["summary"] == "First. Then."
