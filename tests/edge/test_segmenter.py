"""The segmentation stage with the real Silero VAD on the shared recordings."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from pyannote.core import Annotation, Segment

from edge.frames import SpeechSegment
from edge.segmenter import SegmenterSettings, SpeechSegmenter
from edge.sources import WavSource
from models.loaders import load_vad
from models.store import ModelStore
from models.vad import VadSettings
from scripts.speech_eval.labels import read_rttm, read_stm


def segment_file(path: Path, store: ModelStore, settings: SegmenterSettings) -> list[SpeechSegment]:
    segmenter = SpeechSegmenter(load_vad(store, settings.vad), settings)

    async def run() -> list[SpeechSegment]:
        out = []
        async for chunk in WavSource(path):
            out += segmenter.process(chunk)
        return out + segmenter.flush()

    return asyncio.run(run())


def test_segments_keep_soft_onsets_and_cover_the_speech(store: ModelStore, shared_data: Path) -> None:
    sample = shared_data / "audio" / "pyannote-sample"
    segments = segment_file(sample / "sample.wav", store, SegmenterSettings())
    first_word = read_stm(sample / "sample.stm")[0]  # "Hello?" at 6.68 s
    assert segments[0].start_s <= first_word.start_s
    speech = Annotation()
    for s in segments:
        speech[Segment(s.start_s, s.end_s)] = "speech"
    reference = read_rttm(sample / "sample.rttm").get_timeline().support()
    covered = speech.get_timeline().support().crop(reference).duration() / reference.duration()
    print(f"{len(segments)} segments cover {covered:.1%} of the labelled speech")
    assert covered >= 0.97
    assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(segments))  # no overlap
    assert all(len(s.samples) == round((s.end_s - s.start_s) * 16_000) for s in segments)


def test_long_speech_is_cut_so_monologues_still_stream(store: ModelStore, shared_data: Path) -> None:
    settings = SegmenterSettings(vad=VadSettings(max_speech_s=4.0))
    segments = segment_file(shared_data / "audio" / "ami-dev00" / "dev00.wav", store, settings)
    longest = max(s.end_s - s.start_s for s in segments)
    assert longest <= 4.0 + settings.pad_before_s + settings.pad_after_s + 0.1
