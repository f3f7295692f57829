"""WebRTC's VAD (GMM, 30 ms frames): the cheap option, with no model file and almost no processor time.

It is the VAD the pipeline can fall back to on a device too small for Silero. It is much less
discerning: on the corpus dev calls in the phone condition (15 dB SNR room noise) its voiced frames,
smoothed, covered 45 % of the non-speech at its most aggressive setting, where Silero's segments
covered 8 %. Segments follow the
same ``VadSettings`` as Silero's: a segment opens when most of ``min_speech_s`` of frames are voiced,
closes after ``min_silence_s`` of unvoiced frames, and is cut at ``max_speech_s``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from models._lazy import require
from models.vad import VadSegment, VadSettings

FRAME_MS = 30
WEBRTC_RATES_HZ = (8_000, 16_000, 32_000, 48_000)


class WebRtcVad:
    """Feeds audio in any block size; returns finished speech segments as they close."""

    def __init__(self, settings: VadSettings | None = None) -> None:
        self.settings = s = settings or VadSettings(engine="webrtc")
        if s.sample_rate_hz not in WEBRTC_RATES_HZ:
            raise ValueError(f"webrtcvad takes {WEBRTC_RATES_HZ} Hz audio, not {s.sample_rate_hz} Hz")
        if s.webrtc_aggressiveness not in range(4):
            raise ValueError(f"webrtcvad aggressiveness is 0-3, not {s.webrtc_aggressiveness}")
        self._vad: Any = require("webrtcvad", "speech").Vad(s.webrtc_aggressiveness)
        self._frame = s.sample_rate_hz * FRAME_MS // 1000
        self._onset_frames = max(1, math.ceil(s.min_speech_s * 1000 / FRAME_MS))
        self._silence_frames = max(1, math.ceil(s.min_silence_s * 1000 / FRAME_MS))
        self._max_frames = max(1, int(s.max_speech_s * 1000 / FRAME_MS))
        self.reset()

    def reset(self) -> None:
        self._pending = np.zeros(0, dtype=np.float32)
        self._frames_seen = 0
        self._recent: deque[tuple[int, np.ndarray, bool]] = deque(maxlen=self._onset_frames)
        self._open: list[tuple[int, np.ndarray, bool]] = []  # frames of the open segment
        self._unvoiced_run = 0
        self._cut_for_length = False  # the last segment was cut at max_speech_s: the next frame goes on with it
        self._done: list[VadSegment] = []

    def accept(self, samples: np.ndarray) -> list[VadSegment]:
        data = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        usable = len(data) - len(data) % self._frame
        for offset in range(0, usable, self._frame):
            self._step(data[offset : offset + self._frame])
        self._pending = data[usable:]
        return self._drain()

    def is_speech(self) -> bool:
        """Whether the detector is inside speech right now (an open segment)."""
        return bool(self._open)

    def flush(self) -> list[VadSegment]:
        self._close()
        self._pending = np.zeros(0, dtype=np.float32)
        return self._drain()

    def _step(self, frame: np.ndarray) -> None:
        pcm = (np.clip(frame, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        voiced = bool(self._vad.is_speech(pcm, self.settings.sample_rate_hz))
        entry = (self._frames_seen * self._frame, frame, voiced)
        self._frames_seen += 1
        if self._open:
            self._open.append(entry)
            self._unvoiced_run = 0 if voiced else self._unvoiced_run + 1
            if self._unvoiced_run >= self._silence_frames:
                self._close()
            elif len(self._open) >= self._max_frames:
                self._close()
                self._cut_for_length = True
            return
        if self._cut_for_length:  # speech goes on: the next segment starts right where the last was cut
            self._cut_for_length = False
            self._open = [entry]
            return
        self._recent.append(entry)
        if sum(v for _, _, v in self._recent) >= math.ceil(0.8 * self._onset_frames):
            first = next(i for i, (_, _, v) in enumerate(self._recent) if v)  # speech starts at its first voiced frame
            self._open = list(self._recent)[first:]
            self._recent.clear()
            self._unvoiced_run = 0

    def _close(self) -> None:
        """The open segment ends with its last voiced frame; too short a one is a click, dropped."""
        frames = self._open
        while frames and not frames[-1][2]:
            frames = frames[:-1]
        if frames and len(frames) * FRAME_MS / 1000 >= self.settings.min_speech_s:
            self._done.append(VadSegment(frames[0][0], np.concatenate([f for _, f, _ in frames])))
        self._open, self._unvoiced_run = [], 0

    def _drain(self) -> list[VadSegment]:
        done, self._done = self._done, []
        return done
