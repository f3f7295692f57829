"""The frames that flow through the edge pipeline: small, frozen, units in their names.

Audio time (seconds from the start of the call) is the one clock for everything that is cited;
``t_mono_ns`` is the injected monotonic clock, for latency and timers only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class Role(StrEnum):
    REP = "rep"
    CUSTOMER = "customer"
    OTHER = "other"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class AudioChunk:
    samples: np.ndarray
    """Mono float32 in [-1, 1]."""
    rate_hz: int
    start_sample: int
    """Index of the first sample since the call started."""
    t_mono_ns: int
    """Monotonic time when the chunk was captured (or, replaying a file, released)."""

    @property
    def start_s(self) -> float:
        return self.start_sample / self.rate_hz

    @property
    def end_s(self) -> float:
        return (self.start_sample + len(self.samples)) / self.rate_hz


@dataclass(frozen=True)
class SpeechSegment:
    samples: np.ndarray
    rate_hz: int
    start_s: float
    end_s: float
    t_mono_ns: int
    """When the VAD closed the segment."""
    starts_at_change: bool = False
    """The segment was cut from the speech before it because the speaker changed there."""
    lookahead: np.ndarray | None = None
    """Audio already heard right after the segment (a piece cut while speech went on): context for telling
    who is who, not part of the segment."""
    ends_in_speech: bool = False
    """Cut by length while the same speaker went on talking: its end is not an end of speech."""


@dataclass(frozen=True)
class Utterance:
    id: str
    call_id: str
    speaker_id: str
    role: Role
    start_s: float
    end_s: float
    text: str
    asr_confidence: float
    """0-1: how sure the recogniser is of the words."""
    speaker_confidence: float
    """0-1: how sure attribution is of the speaker; downstream code bails out below its threshold."""
    t_mono_ns: int = 0
    """When the utterance was finalised (for end-of-speech → utterance latency)."""
    overlap_s: float = 0.0
    """Seconds around its start in which its speaker and someone else talked at once (0 when the speaker
    waited their turn): the acoustic trace of cutting someone off."""

    @property
    def is_cross_talk(self) -> bool:
        """Someone heard talking under another's utterance (a backchannel, a start that gave way): who and
        when, with no words (two voices at once are not transcribed)."""
        return not self.text and self.asr_confidence == 0.0


@dataclass(frozen=True)
class Moment:
    type: str
    call_id: str
    utterance_ids: tuple[str, ...]
    """The utterances that triggered it: the live path cites too."""
    confidence: float
    at_s: float
    """Audio time at which the moment was detected."""


@dataclass(frozen=True)
class Nudge:
    moment: Moment
    pattern: str
    """Name of the haptic pattern."""
    deadline_mono_ns: int
    """Past this, the nudge is dropped as expired, never delivered late."""


@dataclass(frozen=True)
class CallEnded:
    call_id: str
    end_s: float
    t_mono_ns: int
