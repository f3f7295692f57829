"""VAD segmentation stage: audio chunks in, padded speech segments out, as each one closes.

The VAD's own segments start where speech became likely and clip soft word onsets ("hi", "okay"),
so each segment is re-cut from a short history of the audio with a little padding either side.
The trailing pad costs no latency: the VAD has already waited ``min_silence_s`` past the end.

Speech that goes on is not held until the VAD closes it: a piece of it is let out at a speaker
change (when a change detector is given) or, past ``max_piece_s``, at its quietest moment, so a
turn is final soon after it ends and a long monologue streams in pieces Whisper decodes quickly.
The VAD's segment, when it closes, starts where the last piece ended.

While the VAD hears nothing, a ``rescue`` (when given) looks at the last few seconds now and then for
speech the VAD missed (``speech_rescue``); what it finds is let out as a segment once it has ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from edge.clock import Clock, MonotonicClock
from edge.frames import AudioChunk, SpeechSegment
from edge.speech_rescue import FoundSpeech
from models.vad import VadSegment, VadSettings


class Vad(Protocol):
    def accept(self, samples: np.ndarray) -> list[VadSegment]: ...
    def is_speech(self) -> bool: ...
    def flush(self) -> list[VadSegment]: ...
    def reset(self) -> None: ...


class ChangeDetector(Protocol):
    def changes(self, audio: np.ndarray, rate: int, audio_start_s: float, since_s: float) -> list[float]: ...


class SpeechFinder(Protocol):
    def find(
        self, audio: np.ndarray, rate: int, audio_start_s: float, since_s: float, final: bool = False
    ) -> list[FoundSpeech]: ...


@dataclass(frozen=True)
class SegmenterSettings:
    vad: VadSettings = field(default_factory=VadSettings)
    pad_before_s: float = 0.25
    """Audio kept before the VAD's start (seconds), for soft onsets."""
    pad_after_s: float = 0.15
    """Audio kept after the VAD's end (seconds); at most ``vad.min_silence_s`` to cost no latency."""
    history_s: float = 40.0
    """How much recent audio is kept to re-cut segments from (longer than the longest segment)."""
    max_piece_s: float = 6.0
    """Open speech is let out in pieces of at most this long (seconds), cut at the quietest 20 ms."""
    quiet_search_s: float = 0.8
    """How far back the quietest moment is looked for once a piece reaches ``max_piece_s`` (seconds): the most
    a piece's words wait. Pauses between phrases come often enough that 0.8 s finds one as well as 1.5 s did
    (same WER on the corpus kitchen calls)."""
    check_every_s: float = 0.3
    """How often open speech is checked for a speaker change (seconds of audio)."""
    change_window_s: float = 4.0
    """Audio the change detector sees (seconds, ending now)."""
    open_lookback_s: float = 0.6
    """Audio before the moment the VAD declares speech that belongs to the open piece (its detection delay
    plus ``pad_before_s``)."""
    rescue_every_s: float = 0.5
    """How often, while the VAD hears nothing, the rescue looks for speech it missed (seconds of audio)..."""
    rescue_window_s: float = 4.0
    """...in this much audio, ending now (seconds)."""


class SpeechSegmenter:
    def __init__(
        self,
        vad: Vad,
        settings: SegmenterSettings | None = None,
        clock: Clock | None = None,
        changes: ChangeDetector | None = None,
        rescue: SpeechFinder | None = None,
    ) -> None:
        self.settings = settings or SegmenterSettings()
        self._vad = vad
        self._changes = changes
        self._rescue = rescue
        self._last_rescue = 0  # samples fed when the rescue last looked
        self._open_start: int | None = None  # absolute start of the open piece while the VAD is in speech
        self._after_change = False  # the last cut was at a speaker change: the next piece starts with one
        self._last_check = 0
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
        closed = self._emit(self._vad.accept(chunk.samples))
        if closed or not self._vad.is_speech():
            self._open_start = None
        if not self._vad.is_speech():
            return closed + self._rescued()
        if self._open_start is None:
            lookback = int(self.settings.open_lookback_s * self._rate)
            self._open_start = max(self._fed - lookback, self._last_end, self._history_start)
            self._last_check = self._fed
        return closed + self._open_piece()

    @property
    def speech_since_s(self) -> float | None:
        """Where the speech the VAD is in now began (after the last segment let out), or None in silence:
        someone is talking whose words are not an utterance yet."""
        if self._open_start is None:
            return None
        return max(self._open_start, self._last_end) / self._rate

    def flush(self) -> list[SpeechSegment]:
        closed = self._emit(self._vad.flush())
        return closed + self._rescued(final=True)  # the call ended inside speech only the rescue hears

    def close(self) -> None:
        self._open_start = None
        self._vad.reset()
        self._history = np.zeros(0, dtype=np.float32)

    def _remember(self, samples: np.ndarray) -> None:
        self._history = np.concatenate([self._history, samples.astype(np.float32)])
        self._fed += len(samples)
        excess = len(self._history) - int(self.settings.history_s * self._rate)
        if excess > 0:
            self._history = self._history[excess:]
            self._history_start += excess

    def _open_piece(self) -> list[SpeechSegment]:
        """Pieces of the open speech, when speaker changes or its length say it is time."""
        s, rate = self.settings, self._rate
        start = max(self._open_start or 0, self._last_end)
        cuts: list[int] = []
        if self._changes is not None and self._fed - self._last_check >= s.check_every_s * rate:
            self._last_check = self._fed
            window_start = max(self._fed - int(s.change_window_s * rate), self._history_start)
            audio = self._history[window_start - self._history_start :]
            cuts = [round(t * rate) for t in self._changes.changes(audio, rate, window_start / rate, start / rate)]
        at_change = bool(cuts)
        if not cuts and self._fed - start >= s.max_piece_s * rate:
            cuts = [self._quietest(max(start, self._fed - int(s.quiet_search_s * rate)), self._fed)]
        by_length = bool(cuts) and not at_change
        pieces = []
        for cut in cuts:
            if cut <= start:
                continue
            samples = self._history[start - self._history_start : cut - self._history_start].copy()
            heard_since = self._history[cut - self._history_start :].copy()
            now = self._clock.now_ns()
            pieces.append(
                SpeechSegment(samples, rate, start / rate, cut / rate, now, self._after_change, heard_since, by_length)
            )
            self._after_change = at_change
            start = self._last_end = cut
        return pieces

    def _rescued(self, final: bool = False) -> list[SpeechSegment]:
        """Speech the VAD missed since the last segment, found by the rescue, padded like the VAD's."""
        s, rate = self.settings, self._rate
        if self._rescue is None or (not final and self._fed - self._last_rescue < s.rescue_every_s * rate):
            return []
        self._last_rescue = self._fed
        window_start = max(self._fed - int(s.rescue_window_s * rate), self._history_start)
        audio = self._history[window_start - self._history_start :]
        out = []
        for found in self._rescue.find(audio, rate, window_start / rate, self._last_end / rate, final):
            start = max(round((found.start_s - s.pad_before_s) * rate), self._last_end, self._history_start)
            # A piece of speech still going on ends at the cut: the next piece starts there.
            pad_after = s.pad_after_s if found.ended else 0.0
            end = min(round((found.end_s + pad_after) * rate), self._fed)
            if end <= start:
                continue
            samples = self._history[start - self._history_start : end - self._history_start].copy()
            now = self._clock.now_ns()
            out.append(SpeechSegment(samples, rate, start / rate, end / rate, now, ends_in_speech=not found.ended))
            self._last_end, self._after_change = end, False
        return out

    def _quietest(self, lo: int, hi: int) -> int:
        frame = self._rate // 50  # 20 ms
        region = self._history[lo - self._history_start : hi - self._history_start]
        n = len(region) // frame
        if n == 0:
            return hi
        energy = (region[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
        return lo + int(np.argmin(energy)) * frame + frame // 2

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
        # The closed segment continues the last piece (no pause between) only when it starts where that ended.
        starts_at_change = self._after_change and padded_start == self._last_end
        self._last_end, self._after_change = padded_end, False
        return SpeechSegment(
            samples=samples.copy(),
            rate_hz=self._rate,
            start_s=padded_start / self._rate,
            end_s=padded_end / self._rate,
            t_mono_ns=self._clock.now_ns(),
            starts_at_change=starts_at_change,
        )
