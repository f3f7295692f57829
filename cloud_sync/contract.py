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


class Citation(_Wire):
    utterance_id: str
    start_ts: float
    end_ts: float
    speaker_id: str
    quote: str


class Claim(_Wire):
    """One coaching point of a report; it stands only if every citation holds (the deep-dive issue fills it)."""

    text: str
    rubric_step: str | None = None
    citations: tuple[Citation, ...] = Field(min_length=1)


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
