"""The pipeline's own logic with scripted stages: which audio Whisper decodes, and which latency each
utterance counts in. (The real models run through it in ``test_speech_pipeline``.)"""

from __future__ import annotations

import itertools
import threading
from typing import Any, cast

import numpy as np

from edge.attribution import SpeakerAttributor, SpeakerTurn
from edge.clock import Clock
from edge.frames import AudioChunk, Role, SpeechSegment, Utterance
from edge.segmenter import SegmenterSettings, SpeechSegmenter
from edge.speech_pipeline import SpeechPipeline
from edge.transcription import TranscriptionStage, Words

RATE = 16_000


class ScriptedSegmenter:
    """Lets out each given segment ``delay_s`` after it ends, as a segmenter hearing the audio would."""

    settings = SegmenterSettings()

    def __init__(self, segments: list[SpeechSegment], delay_s: float) -> None:
        self._segments = list(segments)
        self._delay_s = delay_s

    def process(self, chunk: AudioChunk) -> list[SpeechSegment]:
        out = []
        while self._segments and self._segments[0].end_s + self._delay_s <= chunk.end_s + 1e-9:
            out.append(self._segments.pop(0))
        return out

    def flush(self) -> list[SpeechSegment]:
        return []

    def close(self) -> None:
        pass


class SplittingAttributor:
    """One turn per segment, except that a segment longer than ``split_over_s`` holds two speakers."""

    def __init__(self, split_over_s: float) -> None:
        self.split_over_s = split_over_s
        self.threads: list[str] = []

    def attribute(self, segment: SpeechSegment) -> list[SpeakerTurn]:
        self.threads.append(threading.current_thread().name)
        n = len(segment.samples)
        cuts = [0, n // 2, n] if n / RATE > self.split_over_s else [0, n]
        return [self._turn(segment, lo, hi, f"spk{i}") for i, (lo, hi) in enumerate(itertools.pairwise(cuts))]

    @staticmethod
    def _turn(segment: SpeechSegment, lo: int, hi: int, speaker: str) -> SpeakerTurn:
        start = segment.start_s + lo / RATE
        end = start + (hi - lo) / RATE
        return SpeakerTurn(segment.samples[lo:hi], RATE, start, end, speaker, Role.UNKNOWN, 0.9, embedded=True)


class RecordingTranscription:
    def __init__(self) -> None:
        self.decoded: list[int] = []
        self.threads: list[str] = []

    def process(self, samples: np.ndarray, rate_hz: int) -> Words | None:
        self.decoded.append(len(samples))
        self.threads.append(threading.current_thread().name)
        return Words(f"{len(samples)} samples", 1.0, 0.0)


class AudioClock:
    """Monotonic time that follows the audio: the chunk ending at t arrives at t, and work takes no time."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def now_ns(self) -> int:
        return int(self.now_s * 1e9)


def segment(start_s: float, end_s: float, **kwargs: Any) -> SpeechSegment:
    samples = np.zeros(round((end_s - start_s) * RATE), dtype=np.float32)
    return SpeechSegment(samples, RATE, start_s, end_s, 0, **kwargs)


class CrossTalkAttributor(SplittingAttributor):
    """One turn per segment, with someone talking under its second half."""

    def attribute(self, segment: SpeechSegment) -> list[SpeakerTurn]:
        (turn,) = super().attribute(segment)
        middle = (turn.start_s + turn.end_s) / 2
        under = SpeakerTurn(turn.samples[:0], RATE, middle, turn.end_s, "spk9", Role.CUSTOMER, 0.5, False, 0.0, True)
        return [turn, under]


def run(
    segments: list[SpeechSegment], split_over_s: float = 99.0, attributor: SplittingAttributor | None = None
) -> tuple[SpeechPipeline, Any, Any, list[Utterance]]:
    """Feeds 100 ms chunks, each arriving when its last sample would have been captured."""
    clock = AudioClock()
    attributor, transcription = attributor or SplittingAttributor(split_over_s), RecordingTranscription()
    pipeline = SpeechPipeline(
        "call",
        cast(SpeechSegmenter, ScriptedSegmenter(segments, delay_s=0.5)),
        cast(SpeakerAttributor, attributor),
        cast(TranscriptionStage, transcription),
        cast(Clock, clock),
    )
    chunk_samples = RATE // 10
    utterances: list[Utterance] = []
    for i in range(round((segments[-1].end_s + 1.0) * 10)):
        clock.now_s = (i + 1) / 10
        chunk = AudioChunk(np.zeros(chunk_samples, dtype=np.float32), RATE, i * chunk_samples, clock.now_ns())
        utterances += pipeline.process(chunk)
    pipeline.close()
    return pipeline, attributor, transcription, utterances


def test_whisper_decodes_a_one_turn_segment_once_on_its_own_thread() -> None:
    pipeline, attributor, transcription, _ = run([segment(0.0, 2.0), segment(3.0, 4.0)])
    assert transcription.decoded == [2 * RATE, RATE]
    assert all(name.startswith("asr-call") for name in transcription.threads)
    assert not any(name.startswith("asr-call") for name in attributor.threads)
    assert pipeline.stats.cpu_s > 0


def test_a_segment_holding_two_turns_is_decoded_again_turn_by_turn() -> None:
    _, _, transcription, _ = run([segment(0.0, 4.0)], split_over_s=3.0)
    assert transcription.decoded == [4 * RATE, 2 * RATE, 2 * RATE]  # the whole (wasted), then each turn


def test_pieces_cut_by_length_count_as_lag_not_as_end_of_speech_latency() -> None:
    lookahead = np.zeros(RATE // 2, dtype=np.float32)
    pipeline, _, _, _ = run(
        [
            segment(0.0, 6.0, lookahead=lookahead, ends_in_speech=True),  # a monologue goes on
            segment(6.0, 8.0, lookahead=lookahead),  # cut where the speaker changed
            segment(8.0, 9.0),  # closed by the VAD: its last 0.15 s is padding after the speech
        ]
    )
    stats = pipeline.stats
    assert len(stats.piece_lags_s) == 1 and len(stats.latencies_s) == 2
    change, pause = stats.latencies_s
    # Each is let out 0.5 s after its end; the VAD's end is padded, so its speech ended 0.15 s earlier.
    assert abs(change - 0.5) < 1e-6
    assert abs(pause - (0.5 + SegmenterSettings().pad_after_s)) <= 0.1 + 1e-6  # arrival is known per 100 ms chunk


def test_cross_talk_becomes_an_utterance_with_no_words_and_no_decode() -> None:
    pipeline, _, transcription, (turn, under) = run([segment(0.0, 2.0)], attributor=CrossTalkAttributor(99.0))
    assert transcription.decoded == [2 * RATE]  # the segment once: the cross-talk has nothing to decode
    assert (turn.text, turn.is_cross_talk) == (f"{2 * RATE} samples", False)
    assert (under.speaker_id, under.text, under.is_cross_talk) == ("spk9", "", True)
    assert (under.start_s, under.end_s) == (1.0, 2.0)
    assert [turn.id, under.id] == ["u00000", "u00001"]
    assert len(pipeline.stats.latencies_s) == 1  # no one stopped talking where cross-talk ends
