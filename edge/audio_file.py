"""Read an audio file as 16 kHz mono float32, whatever its rate and channel count."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TARGET_RATE_HZ = 16_000


class AudioFileError(Exception):
    """The file cannot be used as audio; the message says why and what to do."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class AudioClip:
    samples: np.ndarray
    rate_hz: int
    source_rate_hz: int
    source_channels: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate_hz


def open_info(path: Path) -> Any:
    """The file's soundfile info, after checking it exists, is audio, and holds samples."""
    import soundfile

    if not path.is_file():
        raise AudioFileError(path, "no such file")
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(path, f"not a readable audio file ({exc}); convert it to WAV") from exc
    if info.frames == 0:
        raise AudioFileError(path, "the file holds no audio samples")
    return info


def read_audio(path: Path, rate_hz: int = TARGET_RATE_HZ) -> AudioClip:
    import soundfile
    import soxr

    open_info(path)
    data, source_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    if source_rate != rate_hz:
        mono = soxr.resample(mono, source_rate, rate_hz, quality="HQ")
    return AudioClip(np.ascontiguousarray(mono, dtype=np.float32), rate_hz, int(source_rate), int(data.shape[1]))
