"""``MicSource``: the microphone as an async iterator of 16 kHz mono ``AudioChunk``s (sounddevice).

PortAudio calls back on its own thread; each block is stamped with the monotonic clock there
(when it was captured, for latency) and handed to the event loop. If the consumer falls behind,
blocks are dropped and counted rather than letting memory grow: the call store and the
pipeline read at least as fast as real time, so a drop means the machine is overloaded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.audio_file import TARGET_RATE_HZ
from edge.clock import Clock, MonotonicClock
from edge.frames import AudioChunk


class MicError(Exception):
    """The microphone cannot be used; the message says what to do."""


class NoMicrophoneError(MicError):
    pass


@dataclass(frozen=True)
class MicSettings:
    device: str | int | None = None
    """Input device name or index (see `ridealong live --list-devices`); None: the system default."""
    rate_hz: int | None = None
    """Capture rate (Hz); None: the device's default rate. Audio is resampled to 16 kHz either way."""
    chunk_ms: int = 100
    """Length of each captured block (milliseconds)."""
    max_s: float | None = None
    """Stop after this much audio (seconds); None: until stopped."""
    queue_s: float = 30.0
    """Captured audio (seconds) that may wait for the consumer before blocks are dropped."""


def _sounddevice() -> Any:
    try:
        import sounddevice
    except ImportError as exc:  # the extra is missing, or PortAudio is (OSError is wrapped as ImportError)
        raise MicError(
            f"microphone support is not installed ({exc}): `pip install 'ridealong[mic]'` and, on Debian, "
            "`apt-get install libportaudio2`"
        ) from exc
    return sounddevice


def input_devices() -> list[dict[str, Any]]:
    sd = _sounddevice()
    return [dict(d, index=i) for i, d in enumerate(sd.query_devices()) if d["max_input_channels"] > 0]


class MicSource:
    paced = True
    """A microphone gives audio as it is spoken."""

    def __init__(self, settings: MicSettings | None = None, clock: Clock | None = None) -> None:
        self.settings = settings or MicSettings()
        self._clock = clock or MonotonicClock()
        self._stop = asyncio.Event()
        self.dropped_blocks = 0
        self.overflows = 0
        sd = _sounddevice()
        try:
            info = sd.query_devices(self.settings.device, kind="input")
        except (ValueError, sd.PortAudioError) as exc:
            names = ", ".join(str(d["name"]) for d in input_devices()) or "none"
            raise NoMicrophoneError(
                f"no usable input device {self.settings.device or '(default)'}: {exc}. Input devices: {names}. "
                "Plug in a microphone or pass --device"
            ) from exc
        self.device_name = str(info["name"])
        self.rate_hz = int(self.settings.rate_hz or info["default_samplerate"])

    def stop(self) -> None:
        self._stop.set()

    async def __aiter__(self) -> AsyncIterator[AudioChunk]:
        import soxr

        sd = _sounddevice()
        loop = asyncio.get_running_loop()
        block = max(self.rate_hz * self.settings.chunk_ms // 1000, 1)
        queue: asyncio.Queue[tuple[np.ndarray, int]] = asyncio.Queue(
            maxsize=max(1, int(self.settings.queue_s * 1000 / self.settings.chunk_ms))
        )

        def deliver(samples: np.ndarray, t_ns: int) -> None:
            try:
                queue.put_nowait((samples, t_ns))
            except asyncio.QueueFull:
                self.dropped_blocks += 1

        def callback(indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            if status and status.input_overflow:
                self.overflows += 1
            samples = indata[:, 0].astype(np.float32) / 32768.0
            loop.call_soon_threadsafe(deliver, samples, self._clock.now_ns())

        resampler = soxr.ResampleStream(self.rate_hz, TARGET_RATE_HZ, 1, dtype="float32")
        emitted = 0
        limit = int(self.settings.max_s * TARGET_RATE_HZ) if self.settings.max_s else None
        try:
            stream = sd.InputStream(
                device=self.settings.device,
                channels=1,
                samplerate=self.rate_hz,
                blocksize=block,
                dtype="int16",  # what capture hardware delivers; PortAudio's float conversion adds nothing
                callback=callback,
            )
        except sd.PortAudioError as exc:
            raise NoMicrophoneError(f"cannot open {self.device_name} at {self.rate_hz} Hz: {exc}") from exc
        with stream:
            while not self._stop.is_set() and (limit is None or emitted < limit):
                samples, t_ns = await queue.get()
                if self.rate_hz != TARGET_RATE_HZ:
                    samples = resampler.resample_chunk(samples)
                if limit is not None:
                    samples = samples[: limit - emitted]
                if len(samples):
                    yield AudioChunk(samples.astype(np.float32), TARGET_RATE_HZ, emitted, t_ns)
                    emitted += len(samples)
