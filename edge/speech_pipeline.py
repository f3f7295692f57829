"""The speech pipeline of one call: audio chunks in, attributed and transcribed utterances out.

Synchronous to its caller: the call runner runs it in a worker thread, so capture never waits on
recognition, and tests drive it directly. Inside, Whisper starts on each segment in a thread of
its own while attribution works out who spoke it (onnxruntime and sherpa-onnx release the GIL, so
the two use both cores): most segments are one speaker's turn, and then the words are ready about
when the speaker is. It also measures what the speech layer promises: end-of-speech → utterance
latency, and the time spent decoding.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from edge.attribution import AttributionSettings, SpeakerAttributor, SpeakerTurn
from edge.change_detector import ChangeSettings
from edge.clock import Clock, MonotonicClock
from edge.frames import AudioChunk, SpeechSegment, Utterance
from edge.segmenter import SegmenterSettings, SpeechSegmenter
from edge.speech_rescue import RescueSettings
from edge.transcription import TranscriptionSettings, TranscriptionStage, Words


@dataclass(frozen=True)
class PipelineSettings:
    segmenter: SegmenterSettings = field(default_factory=SegmenterSettings)
    changes: ChangeSettings = field(default_factory=ChangeSettings)
    rescue: RescueSettings | None = field(default_factory=RescueSettings)
    """Speech the VAD missed, looked for with the segmentation model (None: the VAD's word is final)."""
    attribution: AttributionSettings = field(default_factory=AttributionSettings)
    transcription: TranscriptionSettings = field(default_factory=TranscriptionSettings)


@dataclass
class PipelineStats:
    decode_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    """End of speech (the VAD's end before padding, or the speaker change) → utterance finalised, per live
    utterance that ends where its speaker stopped."""
    piece_lags_s: list[float] = field(default_factory=list)
    """End of a piece cut by length while its speaker talks on → utterance finalised: how far a monologue's
    transcript trails the voice. No one stopped talking there, so these are not end-of-speech latencies."""
    busy_s: float = 0.0
    """Wall time spent inside the pipeline (its own cost, whatever the pacing of the audio)."""
    cpu_s: float = 0.0
    """Processor time the process used meanwhile, all threads: the pipeline's cost on one core."""
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
        asr_worker: Executor | None = None,
    ) -> None:
        self.call_id = call_id
        self.stats = PipelineStats()
        self._segmenter = segmenter
        self._attributor = attributor
        self._transcription = transcription
        # One worker: the recogniser decodes one thing at a time, in the order asked.
        self._asr_worker = asr_worker or ThreadPoolExecutor(1, thread_name_prefix=f"asr-{call_id}")
        self._owns_worker = asr_worker is None
        self._clock = clock or MonotonicClock()
        self._pad_after_s = segmenter.settings.pad_after_s
        self._arrivals: deque[tuple[float, int]] = deque()  # (audio end_s of a chunk, when it arrived)
        self._count = 0

    def process(self, chunk: AudioChunk) -> list[Utterance]:
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return self._process(chunk)
        finally:
            self.stats.busy_s += time.perf_counter() - started
            self.stats.cpu_s += time.process_time() - cpu

    @property
    def speech_since_s(self) -> float | None:
        """Where the speech going on now began (``SpeechSegmenter.speech_since_s``)."""
        return self._segmenter.speech_since_s

    def flush(self) -> list[Utterance]:
        """The end of the audio: the segment still open is closed and transcribed."""
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return self._utterances(self._segmenter.flush(), live=False)
        finally:
            self.stats.busy_s += time.perf_counter() - started
            self.stats.cpu_s += time.process_time() - cpu

    def _process(self, chunk: AudioChunk) -> list[Utterance]:
        self._arrivals.append((chunk.end_s, chunk.t_mono_ns))
        while len(self._arrivals) > 1 and self._arrivals[0][0] < chunk.end_s - 120.0:
            self._arrivals.popleft()
        return self._utterances(self._segmenter.process(chunk), live=True)

    def close(self) -> None:
        self._segmenter.close()
        if self._owns_worker:
            self._asr_worker.shutdown(wait=True)

    def _transcribe(self, samples: np.ndarray, rate_hz: int) -> Future[Words | None]:
        return self._asr_worker.submit(self._transcription.process, samples, rate_hz)

    def _utterances(self, segments: list[SpeechSegment], live: bool) -> list[Utterance]:
        out = []
        for segment in segments:
            whole = self._transcribe(segment.samples, segment.rate_hz)  # while the speaker is worked out
            turns = self._attributor.attribute(segment)
            floor = [t for t in turns if not t.cross_talk]
            one_turn = len(floor) == 1 and len(floor[0].samples) == len(segment.samples)
            for turn in turns:
                if turn.cross_talk:  # two voices at once: nothing for Whisper, only who and when
                    out.append(self._utterance(turn, "", 0.0, self._clock.now_ns()))
                    continue
                # A segment that holds more than one turn is decoded again turn by turn: Whisper's words carry no
                # times to split them by. (The decode of the whole then cost a little CPU for nothing.)
                words = (whole if one_turn else self._transcribe(turn.samples, turn.rate_hz)).result()
                if words is None:
                    self.stats.dropped_turns += 1
                    continue
                self.stats.decode_s += words.decode_s
                now_ns = self._clock.now_ns()
                out.append(self._utterance(turn, words.text, words.confidence, now_ns))
                if live:
                    self._measure_latency(segment, turn.end_s, now_ns)
        return out

    def _utterance(self, turn: SpeakerTurn, text: str, asr_confidence: float, now_ns: int) -> Utterance:
        uid, self._count = f"u{self._count:05d}", self._count + 1
        return Utterance(
            id=uid,
            call_id=self.call_id,
            speaker_id=turn.speaker_id,
            role=turn.role,
            start_s=round(turn.start_s, 3),
            end_s=round(turn.end_s, 3),
            text=text,
            asr_confidence=asr_confidence,
            speaker_confidence=turn.confidence,
            t_mono_ns=now_ns,
            overlap_s=turn.overlap_s,
        )

    def _measure_latency(self, segment: SpeechSegment, turn_end_s: float, final_ns: int) -> None:
        at_segment_end = turn_end_s >= segment.end_s
        # Only a turn ending where the VAD closed its segment carries the trailing pad of silence; one cut at a
        # speaker change (by the segmenter or by attribution inside the segment) or a piece of speech going on
        # ends where the speech did.
        padded = segment.lookahead is None and at_segment_end and not segment.ends_in_speech
        spoken_ns = self._arrival_ns(turn_end_s - (self._pad_after_s if padded else 0.0))
        lags = self.stats.piece_lags_s if segment.ends_in_speech and at_segment_end else self.stats.latencies_s
        lags.append(max(final_ns - spoken_ns, 0) / 1e9)

    def _arrival_ns(self, audio_s: float) -> int:
        """When the audio up to ``audio_s`` had arrived (the first chunk reaching past it)."""
        for end_s, arrived_ns in self._arrivals:
            if end_s >= audio_s:
                return arrived_ns
        return self._arrivals[-1][1]
