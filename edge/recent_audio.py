"""The last few seconds of a call's audio, rebuilt from its speech segments.

The attributor sees speech segments, not the raw stream; to look at a segment in context (who
spoke just before) it lays them back on the call's timeline. Gaps between segments are silence
to the VAD, so they are kept as zeros.
"""

from __future__ import annotations

import numpy as np

from edge.frames import SpeechSegment


class RecentAudio:
    def __init__(self, rate_hz: int, keep_s: float) -> None:
        self.rate_hz = rate_hz
        self._keep = int(keep_s * rate_hz)
        self._samples = np.zeros(0, dtype=np.float32)
        self._start = 0  # absolute sample index of _samples[0]

    def add(self, segment: SpeechSegment) -> None:
        if segment.rate_hz != self.rate_hz:
            raise ValueError(f"expected {self.rate_hz} Hz audio, got {segment.rate_hz} Hz")
        self.add_samples(segment.start_s, segment.samples)
        if segment.lookahead is not None and len(segment.lookahead):
            self.add_samples(segment.end_s, segment.lookahead)

    def add_samples(self, start_s: float, samples: np.ndarray) -> None:
        first = round(start_s * self.rate_hz)
        end = max(first + len(samples), self._start + len(self._samples))
        if end - self._start > len(self._samples):
            grown = np.zeros(end - self._start, dtype=np.float32)
            grown[: len(self._samples)] = self._samples
            self._samples = grown
        at = first - self._start
        piece = samples[max(0, -at) :]
        self._samples[max(at, 0) : max(at, 0) + len(piece)] = piece
        excess = len(self._samples) - self._keep
        if excess > 0:
            self._samples = self._samples[excess:]
            self._start += excess

    def window(self, start_s: float, end_s: float) -> tuple[np.ndarray, float]:
        """The audio between two call times (clipped to what is kept) and the time it really starts at."""
        lo = max(round(start_s * self.rate_hz), self._start)
        hi = min(round(end_s * self.rate_hz), self._start + len(self._samples))
        return self._samples[lo - self._start : max(hi, lo) - self._start], lo / self.rate_hz
