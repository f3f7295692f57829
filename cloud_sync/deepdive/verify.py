"""The grounding verifier: every claim of a report is checked against the call's stored utterances
before it is kept, and a claim that fails is marked unverified with the reasons (never dropped
silently, never shown as coaching).

A citation holds when the utterance exists in this call, its quote occurs in what was said
(normalised: case, punctuation and spacing do not count; fragments joined by "..." must each occur,
in order), and its times and speaker are the stored utterance's. A claim holds when every citation
holds, it has at least one, and its speaker fits: a moment of the customer's (an objection, a
competitor, a buying signal) must cite the customer's side, a moment of the rep's (a monologue, an
interruption) and a covered rubric step must cite the rep, and that speaker label must be confident
enough to rest a claim on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cloud_sync.contract import (
    MOMENT_SIDE,
    CallManifest,
    Citation,
    Claim,
    StepAssessment,
    TaxonomyCandidate,
    Verification,
    WireUtterance,
)

Side = Literal["rep", "customer"]


@dataclass(frozen=True)
class VerifierSettings:
    min_speaker_confidence: float = 0.5
    """A claim that rests on who spoke needs a cited utterance of that side labelled at least this surely."""
    time_tolerance_s: float = 0.05
    """Cited times may differ from the stored ones by rounding, no more."""
    min_quote_words: int = 2
    """A shorter quote (a lone "yes") proves nothing, unless it is the whole utterance."""


def canonical_utterances(manifest: CallManifest) -> tuple[WireUtterance, ...]:
    """The utterances a report cites: the re-aligned second pass when it ran (its speakers are the better
    ones), else what the device heard live."""
    return manifest.second_pass or manifest.utterances


def spoken_utterances(manifest: CallManifest) -> tuple[WireUtterance, ...]:
    """The canonical utterances that have words: what a report, the search index and the page show."""
    return tuple(u for u in canonical_utterances(manifest) if u.text.strip())


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("'", "")
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def quote_occurs(quote: str, said: str) -> bool:
    """``quote`` (fragments joined by "..." or "…") occurs in ``said``, in order, after normalising."""
    haystack = normalise(said)
    at = 0
    fragments = [normalise(f) for f in re.split(r"\.\.\.|…", quote)]
    fragments = [f for f in fragments if f]
    if not fragments:
        return False
    for fragment in fragments:
        # Whole words only: "price" must not match inside "priceless".
        found = re.search(rf"(?:^|\s){re.escape(fragment)}(?:\s|$)", haystack[at:])
        if found is None:
            return False
        at += found.end()
    return True


class GroundingVerifier:
    def __init__(self, utterances: Sequence[WireUtterance], settings: VerifierSettings | None = None) -> None:
        self.settings = settings or VerifierSettings()
        self._by_id = {u.id: u for u in utterances}

    def citation_problems(self, c: Citation) -> list[str]:
        u = self._by_id.get(c.utterance_id)
        if u is None:
            return [f"{c.utterance_id}: no such utterance in this call"]
        problems = []
        if not quote_occurs(c.quote, u.text):
            problems.append(f"{c.utterance_id}: the quote {c.quote[:80]!r} is not what was said")
        elif len(normalise(c.quote).split()) < self.settings.min_quote_words and normalise(c.quote) != normalise(
            u.text
        ):
            problems.append(f"{c.utterance_id}: the quote {c.quote!r} is too short to show anything")
        tol = self.settings.time_tolerance_s
        if abs(c.start_ts - u.start_ts) > tol or abs(c.end_ts - u.end_ts) > tol:
            cited, said = f"{c.start_ts:.2f}–{c.end_ts:.2f}", f"{u.start_ts:.2f}–{u.end_ts:.2f}"
            problems.append(f"{c.utterance_id}: cited at {cited} s, said at {said} s")
        if c.speaker_id != u.speaker_id:
            problems.append(f"{c.utterance_id}: cited as {c.speaker_id}'s, said by {u.speaker_id}")
        return problems

    def check(self, citations: Sequence[Citation], side: Side | None) -> Verification:
        """``side``: whose words the claim rests on (None: anyone's)."""
        if not citations:
            return Verification(verified=False, problems=("no citation: nothing in the call supports it",))
        problems = [p for c in citations for p in self.citation_problems(c)]
        if not problems:
            problems += self._speaker_problems(citations, side)
        return Verification(verified=not problems, problems=tuple(problems))

    def _speaker_problems(self, citations: Sequence[Citation], side: Side | None) -> list[str]:
        cited = [self._by_id[c.utterance_id] for c in citations]
        fitting = [u for u in cited if side is None or _side(u.role) == side]
        if not fitting:
            roles = ", ".join(sorted({u.role for u in cited}))
            return [f"it is a {side} moment, but it cites only {roles} utterances"]
        best = max(u.speaker_confidence for u in fitting)
        if best < self.settings.min_speaker_confidence:
            return [
                f"who spoke is too uncertain to rest it on: speaker confidence {best:.2f} "
                f"< {self.settings.min_speaker_confidence:.2f}"
            ]
        return []

    def check_step(self, step: StepAssessment) -> StepAssessment:
        """A covered step must be shown in the rep's words; a missed one needs no citation, but any it has
        must hold."""
        if step.covered or step.citations:
            check = self.check(step.citations, "rep" if step.covered else None)
        else:
            check = Verification(verified=True)
        return step.model_copy(update={"check": check})

    def check_claim(self, claim: Claim) -> Claim:
        side = MOMENT_SIDE.get(claim.moment_type or "")
        return claim.model_copy(update={"check": self.check(claim.citations, side)})

    def check_candidate(self, candidate: TaxonomyCandidate) -> TaxonomyCandidate:
        return candidate.model_copy(update={"check": self.check(candidate.citations, None)})


def _side(role: str) -> Side | None:
    if role == "rep":
        return "rep"
    if role in ("customer", "other"):
        return "customer"
    return None  # "unknown": fits no side
