"""The speech pipeline of one call: audio chunks in, attributed and transcribed utterances out.

Synchronous and single-threaded on purpose: the call runner runs it in a worker thread, so
capture never waits on recognition, and tests drive it directly. It also measures what the
speech layer promises: end-of-speech → utterance latency and the time spent decoding.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from edge.attribution import AttributionSettings, SpeakerAttributor
from edge.change_detector import ChangeSettings
from edge.clock import Clock, MonotonicClock
from edge.frames import AudioChunk, SpeechSegment, Utterance
from edge.segmenter import SegmenterSettings, SpeechSegmenter
from edge.transcription import TranscriptionSettings, TranscriptionStage


@dataclass(frozen=True)
class PipelineSettings:
    segmenter: SegmenterSettings = field(default_factory=SegmenterSettings)
    changes: ChangeSettings = field(default_factory=ChangeSettings)
    attribution: AttributionSettings = field(default_factory=AttributionSettings)
    transcription: TranscriptionSettings = field(default_factory=TranscriptionSettings)


@dataclass
class PipelineStats:
    decode_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    """End of speech (the VAD's end before padding, or the speaker change) → utterance finalised, per live
    utterance."""
    busy_s: float = 0.0
    """Wall time spent inside the pipeline (its own cost, whatever the pacing of the audio)."""
    dropped_turns: int = 0
    """Speaker turns with no words worth keeping (noise, non-speech tags)."""


class SpeechPipeline:
    def __init__(
        self,
        call_id: str,
        segmenter: SpeechSegmenter,
        attributor: SpeakerAttributor,
        transcription: TranscriptionStage,
        clock: Clock | None = None,
    ) -> None:
        self.call_id = call_id
        self.stats = PipelineStats()
        self._segmenter = segmenter
        self._attributor = attributor
        self._transcription = transcription
        self._clock = clock or MonotonicClock()
        self._pad_after_s = segmenter.settings.pad_after_s
        self._arrivals: deque[tuple[float, int]] = deque()  # (audio end_s of a chunk, when it arrived)
        self._count = 0

    def process(self, chunk: AudioChunk) -> list[Utterance]:
        started = time.perf_counter()
        try:
            return self._process(chunk)
        finally:
            self.stats.busy_s += time.perf_counter() - started

    def flush(self) -> list[Utterance]:
        """The end of the audio: the segment still open is closed and transcribed."""
        started = time.perf_counter()
        try:
            return self._utterances(self._segmenter.flush(), live=False)
        finally:
            self.stats.busy_s += time.perf_counter() - started

    def _process(self, chunk: AudioChunk) -> list[Utterance]:
        self._arrivals.append((chunk.end_s, chunk.t_mono_ns))
        while len(self._arrivals) > 1 and self._arrivals[0][0] < chunk.end_s - 120.0:
            self._arrivals.popleft()
        return self._utterances(self._segmenter.process(chunk), live=True)

    def close(self) -> None:
        self._segmenter.close()

    def _utterances(self, segments: list[SpeechSegment], live: bool) -> list[Utterance]:
        out = []
        for segment in segments:
            for turn in self._attributor.attribute(segment):
                words = self._transcription.process(turn.samples, turn.rate_hz)
                if words is None:
                    self.stats.dropped_turns += 1
                    continue
                self.stats.decode_s += words.decode_s
                now_ns = self._clock.now_ns()
                out.append(
                    Utterance(
                        id=f"u{self._count:05d}",
                        call_id=self.call_id,
                        speaker_id=turn.speaker_id,
                        role=turn.role,
                        start_s=round(turn.start_s, 3),
                        end_s=round(turn.end_s, 3),
                        text=words.text,
                        asr_confidence=words.confidence,
                        speaker_confidence=turn.confidence,
                        t_mono_ns=now_ns,
                    )
                )
                self._count += 1
                if live:
                    # Only a turn ending where the VAD closed its segment carries the trailing pad of silence;
                    # one cut at a speaker change or inside open speech ends where the speech did.
                    padded = segment.lookahead is None and turn.end_s >= segment.end_s
                    spoken_ns = self._arrival_ns(turn.end_s - (self._pad_after_s if padded else 0.0))
                    self.stats.latencies_s.append(max(now_ns - spoken_ns, 0) / 1e9)
        return out

    def _arrival_ns(self, audio_s: float) -> int:
        """When the audio up to ``audio_s`` had arrived (the first chunk reaching past it)."""
        for end_s, arrived_ns in self._arrivals:
            if end_s >= audio_s:
                return arrived_ns
        return self._arrivals[-1][1]
