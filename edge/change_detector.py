"""Speaker changes in speech that is still going on, so a turn is final when it ends, not when the pause comes.

People hand the floor over without pausing (on the pyannote sample the VAD hears one 22 s stretch
of two women); waiting for the VAD to close the segment would hold the first speaker's words for
seconds. While speech is open, the segmentation model looks at the last few seconds every so often,
and every change before a new speaker who has already talked ``min_turn_s`` is a place to cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.speaker_runs import ActivityModel, speaker_runs


@dataclass(frozen=True)
class ChangeSettings:
    window_s: float = 4.0
    """Audio the segmentation model sees for each check (seconds, ending now)."""
    activity_threshold: float = 0.5
    """A local speaker talks in a frame when the model's probability exceeds this."""
    min_turn_s: float = 0.3
    """A change counts once the new speaker has talked this long (and the one before at least as long): the
    least a turn cut at a change waits. 0.5 s cost 0.2 s of latency on every such turn and bought no role accuracy."""
    guard_s: float = 0.1
    """The model's last frames see no right context; a change this close to the end is not trusted yet."""


class SpeakerChangeDetector:
    def __init__(self, model: ActivityModel, settings: ChangeSettings | None = None) -> None:
        self.settings = settings or ChangeSettings()
        self._model = model

    def changes(self, audio: np.ndarray, rate: int, audio_start_s: float, since_s: float) -> list[float]:
        """Confirmed speaker changes after ``since_s`` in ``audio`` (which starts at ``audio_start_s`` on the
        call's clock and ends now), in time order; empty when the last speaker has not talked long enough."""
        s = self.settings
        end_s = audio_start_s + len(audio) / rate - s.guard_s
        if end_s - since_s < 2 * s.min_turn_s or len(audio) < rate:
            return []
        activity = self._model.activity(audio)
        times = audio_start_s + activity.frame_times_s()
        runs = speaker_runs(activity.probabilities, times, since_s, end_s, s.activity_threshold, s.min_turn_s)
        if len(runs) < 2 or runs[-1][1] - runs[-1][0] < s.min_turn_s:
            return []
        return [start for start, _, _ in runs[1:]]
