"""Frame-level speaker activity from pyannote segmentation-3.0 (the ONNX the diarizer uses), via onnxruntime.

The offline diarizer runs this model over the whole call; the online attributor runs it on a few
seconds of recent audio to find where the speaker changes inside a speech segment. The model
answers, for every ~17 ms frame, which of up to three *local* speakers talk (a powerset over
{nobody, A, B, C, A+B, A+C, B+C}); local labels are only consistent within one window, so the
caller links them to the call's speakers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models._lazy import onnx_session
from models.errors import ModelRuntimeError


@dataclass(frozen=True)
class SegmentationSettings:
    num_threads: int = 1
    min_window_s: float = 0.5
    """Shorter audio is not segmented (a handful of frames says nothing about who spoke)."""


@dataclass(frozen=True)
class SpeakerActivity:
    probabilities: np.ndarray
    """(frames, local speakers): probability that each local speaker talks in each frame."""
    frame_step_s: float
    frame_offset_s: float
    """Time (seconds from the window's first sample) of frame 0's centre."""

    def frame_times_s(self) -> np.ndarray:
        return self.frame_offset_s + self.frame_step_s * np.arange(len(self.probabilities))


class SpeakerSegmentation:
    def __init__(self, model_path: Path, settings: SegmentationSettings | None = None) -> None:
        self.settings = settings or SegmentationSettings()
        self._session: Any = onnx_session(model_path, self.settings.num_threads)
        meta = self._session.get_modelmeta().custom_metadata_map
        try:
            self.rate_hz = int(meta["sample_rate"])
            self._shift = int(meta["receptive_field_shift"])
            self._field = int(meta["receptive_field_size"])
            speakers = int(meta["num_speakers"])
            max_together = int(meta["powerset_max_classes"])
        except KeyError as exc:
            raise ModelRuntimeError("pyannote-segmentation-3.0", f"model metadata lacks {exc}") from exc
        # Powerset classes in pyannote's order: nobody, each speaker alone, then each pair.
        classes = [()] + [c for k in range(1, max_together + 1) for c in itertools.combinations(range(speakers), k)]
        self._powerset = np.zeros((len(classes), speakers), dtype=np.float32)
        for row, members in enumerate(classes):
            self._powerset[row, list(members)] = 1.0
        self._input = self._session.get_inputs()[0].name

    @property
    def local_speakers(self) -> int:
        return int(self._powerset.shape[1])

    def activity(self, samples: np.ndarray) -> SpeakerActivity:
        """Per-frame probability that each local speaker talks in ``samples`` (16 kHz mono)."""
        if len(samples) < self.settings.min_window_s * self.rate_hz:
            raise ModelRuntimeError(
                "pyannote-segmentation-3.0", f"{len(samples) / self.rate_hz:.2f} s is too short to segment"
            )
        x = np.ascontiguousarray(samples, dtype=np.float32)[None, None, :]
        log_probs = self._session.run(None, {self._input: x})[0][0]  # (frames, powerset classes)
        probabilities = np.exp(log_probs) @ self._powerset
        return SpeakerActivity(
            probabilities=np.clip(probabilities, 0.0, 1.0),
            frame_step_s=self._shift / self.rate_hz,
            frame_offset_s=self._field / 2 / self.rate_hz,
        )
