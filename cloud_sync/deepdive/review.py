"""One call's deep dive: the transcript and the rubric to the provider, its answer through the grounding
verifier, and the result as a ``Report`` in which every claim carries its verification."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from cloud_sync.contract import (
    CallManifest,
    Citation,
    Claim,
    Report,
    StepAssessment,
    TaxonomyCandidate,
    WireUtterance,
)
from cloud_sync.deepdive.prompt import AnswerLimits, answer_schema, prefix, transcript_lines
from cloud_sync.deepdive.providers import DeepDiveProvider, DeepDiveRequest, timed
from cloud_sync.deepdive.verify import GroundingVerifier, VerifierSettings, spoken_utterances
from rubric_cache.errors import RubricNotFound
from rubric_cache.schema import RubricContent
from rubric_cache.starter import TRADES, starter_rubric


@dataclass(frozen=True)
class DeepDiveSettings:
    limits: AnswerLimits = field(default_factory=AnswerLimits)
    verifier: VerifierSettings = field(default_factory=VerifierSettings)


class DeepDive:
    def __init__(self, provider: DeepDiveProvider, settings: DeepDiveSettings | None = None) -> None:
        self.provider = provider
        self.settings = settings or DeepDiveSettings()

    def review(self, manifest: CallManifest, rubric: RubricContent, rubric_ref: str) -> Report:
        utterances = list(spoken_utterances(manifest))
        lines = transcript_lines(manifest, utterances, self.settings.verifier.min_speaker_confidence)
        schema = answer_schema(rubric, self.settings.limits)
        request = DeepDiveRequest(prefix(rubric), lines, schema, rubric, utterances)
        answer, seconds = timed(self.provider, request)
        verifier = GroundingVerifier(utterances, self.settings.verifier)
        steps, points, candidates, notes = read_answer(answer.data, rubric)
        summary, dropped = grounded_summary(str(answer.data.get("summary", "")), utterances)
        steps = [verifier.check_step(s) for s in steps]
        points = [verifier.check_claim(p) for p in points]
        candidates = [verifier.check_candidate(c) for c in candidates]
        checked = [
            *(s.check for s in steps if s.covered or s.citations),
            *(p.check for p in points),
            *(c.check for c in candidates),
        ]
        return Report(
            call_id=manifest.call_id,
            rubric_ref=rubric_ref,
            provider=self.provider.name,
            model=answer.model,
            created_at=datetime.now(UTC),
            seconds=round(seconds, 2),
            summary=summary,
            steps=tuple(steps),
            points=tuple(points),
            candidates=tuple(candidates),
            claims=len(checked) + len(notes),
            verified=sum(1 for c in checked if c is not None and c.verified),
            usage=answer.usage,
            notes=tuple([*notes, *dropped]),
        )


def grounded_summary(summary: str, utterances: Sequence[WireUtterance]) -> tuple[str, list[str]]:
    """The summary cites nothing, so it is held to what can be checked: a sentence naming a number (a
    price, a size, a date) that nobody said is dropped, and said so in the notes."""
    said = {n.replace(",", "") for u in utterances for n in re.findall(r"\d[\d,]*(?:\.\d+)?", u.text)}
    kept, dropped = [], []
    for sentence in re.split(r"(?<=[.!?])\s+", summary.strip()):
        numbers = [n.replace(",", "").rstrip(".") for n in re.findall(r"\d[\d,]*(?:\.\d+)?", sentence)]
        unsaid = [n for n in numbers if n not in said]
        if unsaid:
            dropped.append(f"summary: dropped a sentence naming {', '.join(unsaid)}, which nobody said: {sentence!r}")
        elif sentence:
            kept.append(sentence)
    return " ".join(kept), dropped


def read_answer(
    data: dict[str, Any], rubric: RubricContent
) -> tuple[list[StepAssessment], list[Claim], list[TaxonomyCandidate], list[str]]:
    """The answer's parts as contract models. Whatever does not fit the contract is not shown and not
    dropped silently: it is counted as a claim and named in the notes."""
    notes: list[str] = []
    given = data.get("steps")
    raw_steps: dict[str, Any] = given if isinstance(given, dict) else {}
    steps = []
    for step in rubric.steps:
        raw = raw_steps.get(step.id)
        try:
            steps.append(StepAssessment(step_id=step.id, **_with_citations(raw)))
        except (TypeError, ValidationError) as exc:
            notes.append(f"step {step.id}: the model's assessment is unreadable ({_first_error(exc)})")
            steps.append(StepAssessment(step_id=step.id, covered=False, score=0, reasoning="(not assessed)"))
    points = []
    for n, raw in enumerate(_items(data, "points"), start=1):
        try:
            fields = _with_citations(raw)
            moment = fields.get("moment_type")
            fields["moment_type"] = None if moment in (None, "none") else moment
            points.append(Claim(**fields))
        except (TypeError, ValidationError) as exc:
            notes.append(f"coaching point {n}: unreadable ({_first_error(exc)})")
    candidates = []
    for n, raw in enumerate(_items(data, "candidates"), start=1):
        try:
            candidates.append(TaxonomyCandidate(**_with_citations(raw)))
        except (TypeError, ValidationError) as exc:
            notes.append(f"taxonomy candidate {n}: unreadable ({_first_error(exc)})")
    return steps, points, candidates, notes


def _items(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    return value if isinstance(value, list) else []


def _with_citations(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise TypeError(f"expected an object, got {type(raw).__name__}")
    fields = dict(raw)
    fields["citations"] = tuple(Citation(**c) for c in fields.get("citations") or ())
    return fields


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        e = exc.errors()[0]
        return f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
    return str(exc)


class RubricSource:
    """Which rubric a report scores a call against."""

    def __init__(self, rubrics: Any) -> None:
        """``rubrics``: the cloud store's ``CloudRubrics``."""
        self._rubrics = rubrics

    def pinned(self, tenant: str, manifest: CallManifest) -> tuple[str, RubricContent]:
        """The rubric the call was made with (its pin), so a report scores what the rep was coached on; a
        call with no pin, the tenant's active one."""
        if manifest.rubric_ref is None:
            return self.active(tenant)
        return manifest.rubric_ref, self.by_ref(tenant, manifest.rubric_ref)

    def by_ref(self, tenant: str, ref: str) -> RubricContent:
        """The rubric a ref names: "tenant@3", or "starter:hvac@<fingerprint>" (the app's starter)."""
        if ref.startswith("starter:"):
            trade = ref.removeprefix("starter:").split("@", 1)[0]
            if trade not in TRADES:
                raise RubricNotFound(tenant, None, [])
            return starter_rubric(trade)
        owner, _, version = ref.rpartition("@")
        if owner != tenant or not version.isdigit():
            raise RubricNotFound(tenant, None, self._rubrics.versions(tenant))
        return self._rubrics.get(tenant, int(version)).content

    def active(self, tenant: str) -> tuple[str, RubricContent]:
        """The tenant's active version (re-scoring after a rubric change)."""
        rubric = self._rubrics.active(tenant)
        if rubric is None:
            raise RubricNotFound(tenant, None, self._rubrics.versions(tenant))
        return rubric.ref, rubric.content


def displayed(report: Report) -> tuple[Sequence[StepAssessment], Sequence[Claim], Sequence[TaxonomyCandidate]]:
    """What the manager is shown as coaching: the verified claims only (the rest are listed apart, as
    unverified, with the verifier's reasons)."""
    return (
        [s for s in report.steps if s.check is None or s.check.verified],
        [p for p in report.points if p.check is not None and p.check.verified],
        [c for c in report.candidates if c.check is not None and c.check.verified],
    )
