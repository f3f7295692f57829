"""The segmentation stage with the real Silero VAD on the shared recordings."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import numpy as np
import pytest
from pyannote.core import Annotation, Segment

from edge.change_detector import ChangeSettings, SpeakerChangeDetector
from edge.frames import AudioChunk, SpeechSegment
from edge.segmenter import SegmenterSettings, SpeechSegmenter
from edge.sources import WavSource
from edge.speech_rescue import FoundSpeech, RescueSettings, SpeechRescuer
from models.loaders import load_segmentation, load_vad
from models.store import ModelStore
from scripts.speech_eval.labels import read_rttm, read_stm


def segment_file(
    path: Path, store: ModelStore, settings: SegmenterSettings, changes: SpeakerChangeDetector | None = None
) -> list[SpeechSegment]:
    return run_segmenter(path, SpeechSegmenter(load_vad(store, settings.vad), settings, changes=changes))


def run_segmenter(path: Path, segmenter: SpeechSegmenter) -> list[SpeechSegment]:
    async def run() -> list[SpeechSegment]:
        out = []
        async for chunk in WavSource(path):
            out += segmenter.process(chunk)
        return out + segmenter.flush()

    return asyncio.run(run())


def labelled_speech_covered(segments: list[SpeechSegment], rttm: Path) -> float:
    speech = Annotation()
    for s in segments:
        speech[Segment(s.start_s, s.end_s)] = "speech"
    reference = read_rttm(rttm).get_timeline().support()
    return float(speech.get_timeline().support().crop(reference).duration() / reference.duration())


def test_segments_keep_soft_onsets_and_cover_the_speech(store: ModelStore, shared_data: Path) -> None:
    sample = shared_data / "audio" / "pyannote-sample"
    segments = segment_file(sample / "sample.wav", store, SegmenterSettings())
    first_word = read_stm(sample / "sample.stm")[0]  # "Hello?" at 6.68 s
    assert segments[0].start_s <= first_word.start_s
    covered = labelled_speech_covered(segments, sample / "sample.rttm")
    print(f"{len(segments)} segments cover {covered:.1%} of the labelled speech")
    assert covered >= 0.97
    assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(segments))  # no overlap
    assert all(len(s.samples) == round((s.end_s - s.start_s) * 16_000) for s in segments)


def test_long_speech_is_let_out_in_pieces_cut_at_quiet_moments(store: ModelStore, shared_data: Path) -> None:
    """The sample's VAD hears one 22 s stretch; without a change detector it still streams in pieces."""
    settings = SegmenterSettings(max_piece_s=3.0)
    segments = segment_file(shared_data / "audio" / "pyannote-sample" / "sample.wav", store, settings)
    longest = max(s.end_s - s.start_s for s in segments)
    assert longest <= 3.0 + settings.pad_after_s
    assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(segments))
    pieces = [s for s in segments if s.lookahead is not None]
    assert pieces and not any(s.starts_at_change for s in segments)  # cut for length, not at a change
    assert all(s.ends_in_speech == (s.lookahead is not None) for s in segments)  # the speaker talked on


def test_speaker_changes_cut_open_speech_where_the_speaker_changes(store: ModelStore, shared_data: Path) -> None:
    """On the sample the women hand over without pausing; pieces end at the labelled changes, and the piece
    after a change says so."""
    sample = shared_data / "audio" / "pyannote-sample"
    detector = SpeakerChangeDetector(load_segmentation(store), ChangeSettings())
    segments = segment_file(sample / "sample.wav", store, SegmenterSettings(), detector)
    reference = read_rttm(sample / "sample.rttm")
    changes = [seg.start for seg, _, _ in list(reference.itertracks(yield_label=True))[1:]]
    cut_at_change = [s.start_s for s in segments if s.starts_at_change]
    near = [c for c in cut_at_change if min(abs(c - r) for r in changes) <= 0.4]
    print(f"cuts at a change: {[round(c, 2) for c in cut_at_change]}; labelled changes {changes}")
    assert len(cut_at_change) >= 4 and len(near) >= 0.75 * len(cut_at_change)
    assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(segments))


class ScriptedChanges:
    def __init__(self, at_s: float) -> None:
        self.at_s = at_s

    def changes(self, audio: np.ndarray, rate: int, audio_start_s: float, since_s: float) -> list[float]:
        now = audio_start_s + len(audio) / rate
        return [self.at_s] if since_s < self.at_s <= now - 0.5 else []


class AlwaysSpeech:
    """A VAD that hears speech from the first sample and never closes a segment until flushed."""

    def __init__(self) -> None:
        self.fed = np.zeros(0, dtype=np.float32)

    def accept(self, samples: np.ndarray) -> list:  # type: ignore[type-arg]
        self.fed = np.concatenate([self.fed, samples])
        return []

    def is_speech(self) -> bool:
        return True

    def flush(self) -> list:  # type: ignore[type-arg]
        from models.vad import VadSegment

        return [VadSegment(0, self.fed)]

    def reset(self) -> None:
        self.fed = np.zeros(0, dtype=np.float32)


def test_a_piece_cut_at_a_change_carries_what_was_heard_after_it() -> None:
    settings = SegmenterSettings(open_lookback_s=0.1, max_piece_s=100.0)  # speech heard from the first chunk
    segmenter = SpeechSegmenter(AlwaysSpeech(), settings, changes=ScriptedChanges(2.0))  # type: ignore[arg-type]
    out = []
    for i in range(30):  # 3 s in 100 ms chunks
        out += segmenter.process(AudioChunk(np.full(1600, i / 100, dtype=np.float32), 16_000, i * 1600, 0))
    out += segmenter.flush()
    first, rest = out
    assert (first.start_s, first.end_s, first.starts_at_change) == (0.0, 2.0, False)
    assert first.lookahead is not None and len(first.lookahead) >= 0.5 * 16_000
    assert first.lookahead[0] == pytest.approx(0.2)  # the audio right after the cut
    assert (rest.start_s, rest.starts_at_change) == (2.0, True)
    assert rest.end_s == pytest.approx(3.0)


def test_it_says_where_the_speech_going_on_began_and_nothing_in_silence() -> None:
    settings = SegmenterSettings(open_lookback_s=0.1, max_piece_s=100.0)
    speaking = SpeechSegmenter(AlwaysSpeech(), settings, changes=ScriptedChanges(2.0))  # type: ignore[arg-type]
    silent = SpeechSegmenter(DeafVad(), settings)  # type: ignore[arg-type]
    assert speaking.speech_since_s is None
    for i in range(30):
        chunk = AudioChunk(np.full(1600, 0.1, dtype=np.float32), 16_000, i * 1600, 0)
        speaking.process(chunk)
        silent.process(chunk)
    assert speaking.speech_since_s == 2.0  # since the piece cut at the change at 2.0 s
    assert silent.speech_since_s is None


class DeafVad(AlwaysSpeech):
    """A VAD that never hears speech (a voice Silero misses through a phone)."""

    def is_speech(self) -> bool:
        return False

    def flush(self) -> list:  # type: ignore[type-arg]
        return []


class ScriptedFinder:
    """The segmentation model's word: speech over [start_s, end_s), seen once the audio has passed it."""

    def __init__(self, start_s: float, end_s: float) -> None:
        self.start_s, self.end_s = start_s, end_s
        self.looks: list[tuple[float, float]] = []

    def find(
        self, audio: np.ndarray, rate: int, audio_start_s: float, since_s: float, final: bool = False
    ) -> list[FoundSpeech]:
        now = audio_start_s + len(audio) / rate
        self.looks.append((audio_start_s, now))
        if (now < self.end_s + 0.3 and not final) or since_s >= self.end_s:
            return []
        return [FoundSpeech(max(self.start_s, since_s), self.end_s, ended=True)]


def test_speech_the_vad_missed_is_let_out_once_it_ends_padded_like_the_vads() -> None:
    settings = SegmenterSettings(rescue_every_s=0.5, rescue_window_s=4.0)
    finder = ScriptedFinder(1.0, 2.0)
    segmenter = SpeechSegmenter(DeafVad(), settings, rescue=finder)  # type: ignore[arg-type]
    out: list[SpeechSegment] = []
    for i in range(40):  # 4 s in 100 ms chunks
        out += segmenter.process(AudioChunk(np.full(1600, 0.1, dtype=np.float32), 16_000, i * 1600, 0))
    (found,) = out
    assert (found.start_s, found.end_s) == (1.0 - settings.pad_before_s, 2.0 + settings.pad_after_s)
    assert len(found.samples) == round((found.end_s - found.start_s) * 16_000) and not found.ends_in_speech
    assert all(end - start <= 4.0 for start, end in finder.looks)  # every look sees the last 4 s at most
    assert len(finder.looks) == 8  # every 0.5 s of audio
    # The call ends while the VAD-deaf voice still talks: what the rescue heard is let out, not lost.
    ending = SpeechSegmenter(DeafVad(), settings, rescue=ScriptedFinder(3.0, 4.0))  # type: ignore[arg-type]
    heard = []
    for i in range(40):
        heard += ending.process(AudioChunk(np.full(1600, 0.1, dtype=np.float32), 16_000, i * 1600, 0))
    (last,) = heard + ending.flush()
    assert (last.start_s, last.end_s) == (3.0 - settings.pad_before_s, 4.0)


def test_the_segmentation_model_finds_the_speech_a_deaf_vad_misses(store: ModelStore, shared_data: Path) -> None:
    """The real model on the sample with a VAD that hears nothing: the rescue alone lets out most of the
    labelled speech, in pieces while the women talk on, never overlapping."""
    sample = shared_data / "audio" / "pyannote-sample"
    rescuer = SpeechRescuer(load_segmentation(store), RescueSettings())
    segmenter = SpeechSegmenter(DeafVad(), SegmenterSettings(), rescue=rescuer)  # type: ignore[arg-type]
    segments = run_segmenter(sample / "sample.wav", segmenter)
    covered = labelled_speech_covered(segments, sample / "sample.rttm")
    print(f"{len(segments)} rescued segments cover {covered:.1%} of the labelled speech")
    assert covered >= 0.8
    settings = SegmenterSettings()
    longest = RescueSettings().piece_s + settings.rescue_every_s + settings.pad_before_s  # let out at the next look
    assert max(s.end_s - s.start_s for s in segments) <= longest
    assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(segments))
