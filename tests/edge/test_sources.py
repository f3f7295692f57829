"""WavSource on real files: any rate and channel count, pacing, and bad input."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import soundfile

from edge.audio_file import AudioFileError, read_audio
from edge.clock import FakeClock
from edge.frames import AudioChunk
from edge.sources import WavSource, WavSourceSettings


def collect(source: WavSource) -> list[AudioChunk]:
    async def run() -> list[AudioChunk]:
        return [chunk async for chunk in source]

    return asyncio.run(run())


def test_8khz_stereo_is_streamed_as_16khz_mono(tmp_path: Path, shared_data: Path) -> None:
    speech = read_audio(shared_data / "audio" / "pyannote-sample" / "sample.wav")
    import soxr

    eight_k = soxr.resample(speech.samples, 16_000, 8_000)
    path = tmp_path / "phone.wav"
    soundfile.write(path, np.stack([eight_k, eight_k * 0.5], axis=1), 8_000)
    chunks = collect(WavSource(path))
    audio = np.concatenate([c.samples for c in chunks])
    assert all(c.rate_hz == 16_000 for c in chunks)
    assert abs(len(audio) / 16_000 - speech.duration_s) < 0.01
    assert [c.start_sample for c in chunks] == list(np.cumsum([0] + [len(c.samples) for c in chunks[:-1]]))
    expected = read_audio(path).samples  # the same file read whole, for comparison
    n = min(len(audio), len(expected))
    assert np.corrcoef(audio[:n], expected[:n])[0, 1] > 0.99


def test_realtime_releases_each_chunk_when_its_audio_would_have_been_captured(shared_data: Path) -> None:
    clock = FakeClock()
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    source = WavSource(
        shared_data / "audio" / "pyannote-sample" / "sample.wav",
        WavSourceSettings(chunk_ms=200, realtime=True),
        clock=clock,
        sleep=fake_sleep,
    )
    chunks = collect(source)
    assert sum(slept) == pytest.approx(source.duration_s, abs=0.01)
    assert all(c.t_mono_ns == pytest.approx(c.end_s * 1e9, abs=1e6) for c in chunks)


def test_a_tail_of_silence_follows_the_file_at_the_speed_of_speech(shared_data: Path) -> None:
    clock = FakeClock()

    async def fake_sleep(seconds: float) -> None:
        clock.advance(seconds)

    path = shared_data / "audio" / "pyannote-sample" / "sample.wav"
    settings = WavSourceSettings(chunk_ms=200, realtime=True, tail_s=3.0)
    source = WavSource(path, settings, clock=clock, sleep=fake_sleep)
    chunks = collect(source)
    audio = np.concatenate([c.samples for c in chunks])
    assert len(audio) / 16_000 == pytest.approx(source.duration_s + 3.0, abs=0.2)
    assert not audio[-3 * 16_000 :].any()
    untailed = np.concatenate([c.samples for c in collect(WavSource(path))])
    assert np.array_equal(audio[: len(audio) - 3 * 16_000], untailed)
    assert all(c.t_mono_ns == pytest.approx(c.end_s * 1e9, abs=1e6) for c in chunks)


@pytest.mark.parametrize(
    ("content", "reason"), [(b"", "not a readable audio file"), (b"RIFF....WAVEjunk", "not a readable audio file")]
)
def test_unreadable_files_are_a_typed_error(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFileError, match=reason):
        WavSource(path)
    with pytest.raises(AudioFileError, match="no such file"):
        WavSource(tmp_path / "missing.wav")


def test_an_empty_wav_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros(0, dtype=np.float32), 16_000)
    with pytest.raises(AudioFileError, match="no audio samples"):
        WavSource(path)
