"""VAD segmentation stage: audio chunks in, padded speech segments out, as each one closes.

The VAD's own segments start where speech became likely and clip soft word onsets ("hi", "okay"),
so each segment is re-cut from a short history of the audio with a little padding either side.
The trailing pad costs no latency: the VAD has already waited ``min_silence_s`` past the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from edge.clock import Clock, MonotonicClock
from edge.frames import AudioChunk, SpeechSegment
from models.vad import VadSegment, VadSettings


class Vad(Protocol):
    def accept(self, samples: np.ndarray) -> list[VadSegment]: ...
    def flush(self) -> list[VadSegment]: ...
    def reset(self) -> None: ...


@dataclass(frozen=True)
class SegmenterSettings:
    vad: VadSettings = field(default_factory=VadSettings)
    pad_before_s: float = 0.25
    """Audio kept before the VAD's start (seconds), for soft onsets."""
    pad_after_s: float = 0.2
    """Audio kept after the VAD's end (seconds); at most ``vad.min_silence_s`` to cost no latency."""
    history_s: float = 40.0
    """How much recent audio is kept to re-cut segments from (longer than the longest segment)."""


class SpeechSegmenter:
    def __init__(self, vad: Vad, settings: SegmenterSettings | None = None, clock: Clock | None = None) -> None:
        self.settings = settings or SegmenterSettings()
        self._vad = vad
        self._clock = clock or MonotonicClock()
        self._rate = self.settings.vad.sample_rate_hz
        self._history = np.zeros(0, dtype=np.float32)
        self._history_start = 0  # absolute sample index of _history[0]
        self._fed = 0  # samples fed so far
        self._last_end = 0  # absolute end of the last emitted segment: padded segments never overlap

    def process(self, chunk: AudioChunk) -> list[SpeechSegment]:
        if chunk.rate_hz != self._rate:
            raise ValueError(f"segmenter expects {self._rate} Hz audio, got {chunk.rate_hz} Hz")
        self._remember(chunk.samples)
        return self._emit(self._vad.accept(chunk.samples))

    def flush(self) -> list[SpeechSegment]:
        return self._emit(self._vad.flush())

    def close(self) -> None:
        self._vad.reset()
        self._history = np.zeros(0, dtype=np.float32)

    def _remember(self, samples: np.ndarray) -> None:
        self._history = np.concatenate([self._history, samples.astype(np.float32)])
        self._fed += len(samples)
        excess = len(self._history) - int(self.settings.history_s * self._rate)
        if excess > 0:
            self._history = self._history[excess:]
            self._history_start += excess

    def _emit(self, segments: list[VadSegment]) -> list[SpeechSegment]:
        padded = [self._padded(s) for s in segments]
        return [s for s in padded if len(s.samples)]

    def _padded(self, segment: VadSegment) -> SpeechSegment:
        start = segment.start_sample
        end = start + len(segment.samples)
        padded_start = max(start - int(self.settings.pad_before_s * self._rate), self._last_end, self._history_start)
        padded_end = min(end + int(self.settings.pad_after_s * self._rate), self._fed)
        # A segment the VAD cut at max_speech_s is followed at once by the next one; the previous
        # segment's trailing pad already holds the first few ms of it, so it starts where that ended.
        if padded_start < padded_end:
            samples = self._history[padded_start - self._history_start : padded_end - self._history_start]
        else:  # the previous trailing pad swallowed this whole (tiny) segment
            samples = np.zeros(0, dtype=np.float32)
        self._last_end = padded_end
        return SpeechSegment(
            samples=samples.copy(),
            rate_hz=self._rate,
            start_s=padded_start / self._rate,
            end_s=padded_end / self._rate,
            t_mono_ns=self._clock.now_ns(),
        )
