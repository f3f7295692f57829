"""Silero VAD through sherpa-onnx's VoiceActivityDetector."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from models._lazy import loading, require


@dataclass(frozen=True)
class VadSettings:
    engine: Literal["silero", "webrtc"] = "silero"
    """Silero (a neural model, the default) or WebRTC's GMM VAD (``webrtc_vad``: no model file, least processor
    time, many more false alarms in noise)."""
    webrtc_aggressiveness: int = 3
    """WebRTC's mode, 0-3: how readily it calls a frame non-speech."""
    threshold: float = 0.5
    """Speech probability above which a 32 ms window counts as speech."""
    min_silence_s: float = 0.15
    """Silence (seconds) that closes a segment. Every end of speech waits this long; 0.15 s also closes at the
    short pauses where people hand over, so fewer turns wait for the change detector (WER and role accuracy
    unchanged from 0.25 s on the corpus kitchen calls; end-of-speech latency p95 1.10 → 0.94 s)."""
    min_speech_s: float = 0.20
    """Shorter bursts (seconds) are dropped as clicks."""
    max_speech_s: float = 8.0
    """Longer speech (seconds) is cut so long monologues still stream."""
    sample_rate_hz: int = 16_000
    window_samples: int = 512
    """Silero v5 takes 512-sample windows at 16 kHz."""
    buffer_s: float = 120.0
    """How much audio (seconds) the detector may hold while a segment is open."""


@dataclass(frozen=True)
class VadSegment:
    start_sample: int
    """Index of the first sample, counted from the first sample ever fed."""
    samples: np.ndarray


class SileroVad:
    """Feeds audio in any block size; returns finished speech segments as they close."""

    def __init__(self, model_path: Path, settings: VadSettings | None = None) -> None:
        self.settings = settings or VadSettings()
        sherpa = require("sherpa_onnx", "speech")
        config = sherpa.VadModelConfig()
        config.silero_vad.model = str(model_path)
        config.silero_vad.threshold = self.settings.threshold
        config.silero_vad.min_silence_duration = self.settings.min_silence_s
        config.silero_vad.min_speech_duration = self.settings.min_speech_s
        config.silero_vad.max_speech_duration = self.settings.max_speech_s
        config.silero_vad.window_size = self.settings.window_samples
        config.sample_rate = self.settings.sample_rate_hz
        config.num_threads = 1
        with loading(model_path):
            self._vad: Any = sherpa.VoiceActivityDetector(config, buffer_size_in_seconds=self.settings.buffer_s)
        self._pending = np.zeros(0, dtype=np.float32)

    def accept(self, samples: np.ndarray) -> list[VadSegment]:
        # sherpa wants whole windows; keep the remainder for the next call.
        data = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        window = self.settings.window_samples
        usable = len(data) - len(data) % window
        for offset in range(0, usable, window):
            self._vad.accept_waveform(data[offset : offset + window])
        self._pending = data[usable:]
        return self._drain()

    def is_speech(self) -> bool:
        """Whether the detector is inside speech right now (an open segment)."""
        return bool(self._vad.is_speech_detected())

    def flush(self) -> list[VadSegment]:
        if len(self._pending):
            padded = np.zeros(self.settings.window_samples, dtype=np.float32)
            padded[: len(self._pending)] = self._pending
            self._vad.accept_waveform(padded)
            self._pending = np.zeros(0, dtype=np.float32)
        self._vad.flush()
        return self._drain()

    def reset(self) -> None:
        self._vad.reset()
        self._pending = np.zeros(0, dtype=np.float32)

    def _drain(self) -> list[VadSegment]:
        segments = []
        while not self._vad.empty():
            front = self._vad.front
            segments.append(VadSegment(int(front.start), np.array(front.samples, dtype=np.float32)))
            self._vad.pop()
        return segments
