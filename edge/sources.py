"""Audio sources: async iterators of ``AudioChunk`` at 16 kHz mono, whatever the input.

``WavSource`` streams a file block by block (a two-hour recording never sits in memory whole),
resampling on the fly; with ``realtime=True`` it releases each chunk when its last sample would
have been captured, so latency measured downstream is what a live microphone would see.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from edge.audio_file import TARGET_RATE_HZ, AudioFileError, open_info
from edge.clock import Clock, MonotonicClock
from edge.frames import AudioChunk


class AudioSource(AsyncIterable[AudioChunk], Protocol):
    @property
    def paced(self) -> bool:
        """Chunks come at the speed of speech (a microphone, a paced replay), not as fast as they can be read."""
        ...


@dataclass(frozen=True)
class WavSourceSettings:
    chunk_ms: int = 100
    """Length of each chunk handed downstream (milliseconds)."""
    realtime: bool = False
    """Pace chunks at the speed of speech instead of as fast as they can be read."""
    rate_hz: int = TARGET_RATE_HZ
    max_duration_s: float = 8 * 3600.0
    """Longer files are refused: no consult runs this long, and the call store keeps the audio."""
    tail_s: float = 0.0
    """Silence played after the file's last sample. A rendered call stops a second after its last word; a
    microphone keeps listening while the rep packs up, and what the coach decides after a pause (a visit
    wound down with no next step, a question left unanswered) needs that time to pass."""


class WavSource:
    def __init__(
        self,
        path: Path,
        settings: WavSourceSettings | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.path = path
        self.settings = settings or WavSourceSettings()
        self._clock = clock or MonotonicClock()
        self._sleep = sleep
        self._info = open_info(path)
        if self.duration_s > self.settings.max_duration_s:
            raise AudioFileError(
                path,
                f"{self.duration_s / 3600:.1f} h of audio is longer than a call can be "
                f"({self.settings.max_duration_s / 3600:.0f} h): split it into calls first (e.g. with sox trim)",
            )

    @property
    def paced(self) -> bool:
        return self.settings.realtime

    @property
    def source_rate_hz(self) -> int:
        return int(self._info.samplerate)

    @property
    def source_channels(self) -> int:
        return int(self._info.channels)

    @property
    def duration_s(self) -> float:
        return float(self._info.frames) / float(self._info.samplerate)

    async def __aiter__(self) -> AsyncIterator[AudioChunk]:
        import soundfile
        import soxr

        rate = self.settings.rate_hz
        chunk = rate * self.settings.chunk_ms // 1000
        resampler = soxr.ResampleStream(self.source_rate_hz, rate, 1, dtype="float32")
        started_ns = self._clock.now_ns()
        pending = np.zeros(0, dtype=np.float32)
        emitted = 0
        block_frames = max(self.source_rate_hz * self.settings.chunk_ms // 1000, 1)
        with soundfile.SoundFile(str(self.path)) as fh:
            while True:
                block = fh.read(block_frames, dtype="float32", always_2d=True)
                last = len(block) < block_frames
                mono = block.mean(axis=1) if len(block) else np.zeros(0, dtype=np.float32)
                if self.source_rate_hz != rate:
                    mono = resampler.resample_chunk(mono, last=last)
                pending = np.concatenate([pending, mono.astype(np.float32)])
                while len(pending) >= chunk or (last and len(pending)):
                    samples, pending = pending[:chunk], pending[chunk:]
                    await self._pace(started_ns, (emitted + len(samples)) / rate)
                    yield AudioChunk(samples, rate, emitted, self._clock.now_ns())
                    emitted += len(samples)
                if last:
                    break
        silence = np.zeros(chunk, dtype=np.float32)
        for _ in range(round(self.settings.tail_s * rate / chunk)):
            await self._pace(started_ns, (emitted + chunk) / rate)
            yield AudioChunk(silence, rate, emitted, self._clock.now_ns())
            emitted += chunk

    async def _pace(self, started_ns: int, audio_s: float) -> None:
        """In real time, wait until ``audio_s`` of audio would have been spoken since the start."""
        if self.settings.realtime:
            wait_s = (started_ns + int(audio_s * 1e9) - self._clock.now_ns()) / 1e9
            if wait_s > 0:
                await self._sleep(wait_s)
