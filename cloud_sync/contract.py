"""The wire contract between the edge and the cloud (pydantic, versioned): what a call upload carries,
how its audio travels, and the report's trust layer (claims citing utterances).

A call travels in two parts. The manifest (metadata, both diarization passes, nudges, the pinned
rubric, and the audio's size and sha256) is small and sent whole; it is idempotent by call id: the
same manifest again is a no-op, a different one for the same id is refused. The audio follows in
chunks at byte offsets, each with its own sha256, so an upload cut off anywhere resumes from the
server's offset. The call counts as synced only when the server has checked the whole audio's sha256
against the manifest.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CONTRACT_VERSION: Literal[1] = 1
AUDIO_FORMAT: Literal["pcm_s16le_mono"] = "pcm_s16le_mono"
CALL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$"
NO_NUL = r"^[^\x00]*$"
"""Text fields refuse NUL characters: PostgreSQL text cannot hold them, and no transcript has them."""
MAX_CHUNK_BYTES = 1 << 20
"""Largest audio chunk a server takes in one request (1 MiB ≈ 33 s of 16 kHz audio)."""


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WireUtterance(_Wire):
    id: str = Field(pattern=NO_NUL, min_length=1, max_length=64)
    speaker_id: str = Field(pattern=NO_NUL, max_length=64)
    role: Literal["rep", "customer", "other", "unknown"]
    start_ts: float = Field(ge=0)
    end_ts: float = Field(ge=0)
    text: str = Field(pattern=NO_NUL, max_length=20_000)
    asr_confidence: float = Field(ge=0, le=1)
    speaker_confidence: float = Field(ge=0, le=1)


class WireNudge(_Wire):
    type: str = Field(pattern=NO_NUL, max_length=64)
    at_s: float = Field(ge=0)
    confidence: float = Field(ge=0, le=1)
    utterance_ids: tuple[str, ...]
    pattern: str = Field(pattern=NO_NUL, max_length=64)
    reason: str = Field(pattern=NO_NUL, max_length=2_000)
    delivery: str | None = Field(pattern=NO_NUL, default=None, max_length=32)
    """What became of it on the wrist: delivered, expired, failed (None: no watch link)."""


class AudioManifest(_Wire):
    format: Literal["pcm_s16le_mono"] = AUDIO_FORMAT
    rate_hz: int = Field(ge=8_000, le=48_000)
    bytes: int = Field(ge=0, le=4 << 30)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class CallManifest(_Wire):
    contract_version: Literal[1] = CONTRACT_VERSION
    call_id: str = Field(pattern=CALL_ID_PATTERN)
    rep_id: str | None = Field(pattern=NO_NUL, default=None, max_length=64)
    source: str = Field(pattern=NO_NUL, max_length=500)
    started_at: datetime
    ended_at: datetime | None
    end_s: float = Field(ge=0)
    rubric_ref: str | None = Field(pattern=NO_NUL, default=None, max_length=120)
    utterances: tuple[WireUtterance, ...] = Field(max_length=20_000)
    """The online pass, as the rep's device heard the call live."""
    second_pass: tuple[WireUtterance, ...] = Field(default=(), max_length=20_000)
    """The offline re-alignment after the call (empty when it did not run)."""
    nudges: tuple[WireNudge, ...] = Field(default=(), max_length=200)
    audio: AudioManifest

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON: how a server tells a retry from a different call under the same id."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class UploadState(_Wire):
    call_id: str
    received_bytes: int
    """The offset the next audio chunk must start at."""
    total_bytes: int
    complete: bool
    """The server checked the whole audio's sha256 against the manifest."""
    sha256: str | None = None


class ApiError(_Wire):
    """Every 4xx/5xx body: a stable code and a message saying what to do."""

    error: str
    message: str


MOMENT_SIDE: dict[str, Literal["rep", "customer"]] = {
    "rep_monologue": "rep",
    "step_skipped_before_price": "rep",
    "talk_ratio_high": "rep",
    "rep_interrupting": "rep",
    "no_next_step": "rep",
    "price_objection_unaddressed": "customer",
    "question_unanswered": "customer",
    "decision_maker_objection": "customer",
    "competitor_mentioned": "customer",
    "buying_signal": "customer",
}
"""The live coach's moment types (the edge's ``MomentType``) and whose words make each one: a claim of
that type must cite them ("customer" includes anyone on the customer's side, e.g. a spouse)."""


class Citation(_Wire):
    """Where a claim comes from: one utterance of the call, its times and speaker, and the words quoted."""

    utterance_id: str = Field(max_length=64)
    start_ts: float
    end_ts: float
    speaker_id: str = Field(max_length=64)
    quote: str = Field(max_length=600)
    """Verbatim from the utterance; fragments may be joined with "..." (each must occur, in order)."""


class Verification(_Wire):
    """What the grounding verifier found: a claim is shown only if ``verified``."""

    verified: bool
    problems: tuple[str, ...] = ()


class StepAssessment(_Wire):
    """One rubric step of the call: covered or not, how well (0 missed … 3 strong), why, and where."""

    step_id: str
    covered: bool
    score: int = Field(ge=0, le=3)
    reasoning: str
    citations: tuple[Citation, ...] = ()
    check: Verification | None = None


class Claim(_Wire):
    """One coaching point: a strength, a miss, a notable moment (of the live coach's types), or an unusual
    moment a fixed taxonomy would not catch."""

    kind: Literal["strength", "miss", "moment", "unusual"]
    text: str
    moment_type: str | None = None
    """The live coach's moment type this point is an instance of, if any (it fixes whose words it needs)."""
    rubric_step: str | None = None
    citations: tuple[Citation, ...] = Field(min_length=1)
    check: Verification | None = None


class TaxonomyCandidate(_Wire):
    """A kind of moment this call suggests the live coach could learn to catch."""

    name: str
    description: str
    citations: tuple[Citation, ...] = Field(min_length=1)
    check: Verification | None = None


class TokenUsage(_Wire):
    input_tokens: int = 0
    """Prompt tokens paid at the full rate (not from the cache)."""
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0


class Report(_Wire):
    """The deep dive of one call against one rubric version, every claim checked against the transcript."""

    call_id: str
    rubric_ref: str
    provider: Literal["claude", "local"]
    model: str
    created_at: datetime
    seconds: float
    summary: str
    steps: tuple[StepAssessment, ...]
    points: tuple[Claim, ...]
    candidates: tuple[TaxonomyCandidate, ...] = ()
    claims: int
    """Claims the model made (steps with citations, points, candidates)."""
    verified: int
    usage: TokenUsage = TokenUsage()
    notes: tuple[str, ...] = ()
    """Parts of the model's answer that could not be read as claims (counted in ``claims``, never shown)."""

    @property
    def verification_rate(self) -> float:
        return self.verified / self.claims if self.claims else 1.0


class NewLibraryEntry(_Wire):
    """A call (or one moment of it) shared as a teaching example in the tenant's library."""

    call_id: str = Field(pattern=CALL_ID_PATTERN)
    utterance_id: str | None = Field(default=None, pattern=NO_NUL, max_length=64)
    title: str = Field(pattern=NO_NUL, min_length=1, max_length=200)
    note: str = Field(default="", pattern=NO_NUL, max_length=5_000)


class LibraryEntry(_Wire):
    id: int
    call_id: str
    utterance_id: str | None
    start_ts: float | None
    """Where the shared moment starts in the call's audio (None: the whole call)."""
    title: str
    note: str
    shared_by: str
    created_at: datetime


class NewToken(_Wire):
    """An admin's request for a user's token in their own tenant."""

    role: Literal["rep", "manager", "admin"]
    subject: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
    """Who it is for; for a rep, the rep id their device puts on calls."""
    ttl_days: float | None = Field(default=None, gt=0, le=3650)


class IssuedToken(_Wire):
    token_id: str
    token: str
    """Shown once: the server keeps only its sha256."""
    role: str
    subject: str
    expires_at: datetime | None


class NewComment(_Wire):
    """A manager's comment on one utterance of a call."""

    utterance_id: str = Field(pattern=NO_NUL, min_length=1, max_length=64)
    body: str = Field(pattern=NO_NUL, min_length=1, max_length=5_000)


class Comment(_Wire):
    id: int
    call_id: str
    utterance_id: str
    author: str
    """Who wrote it: the token's subject (a person), else the token's id."""
    body: str
    created_at: datetime


class SearchHit(_Wire):
    """One utterance close in meaning to a search query, with where to play it."""

    call_id: str
    utterance_id: str
    speaker_id: str
    role: str
    start_ts: float
    end_ts: float
    text: str
    score: float
    """Cosine similarity to the query, in [-1, 1]; higher is closer."""
