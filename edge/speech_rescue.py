"""Speech the VAD did not hear, found by the segmentation model while the VAD is idle.

Silero misses whole turns of some voices through a phone: on the corpus dev calls in the phone
condition it hears 83 % of the reference speech, and a band-limited low voice can go unheard for
ten seconds. The pyannote segmentation model, which the attributor already runs, hears other
things: together the two hear 88.5 % with the model at 0.8 (its stretches of 0.3 s or more; false
alarms 8.0 % → 10.3 % of the non-speech). So while the VAD hears nothing, the model looks at the
last few seconds now and then, and a stretch it is sure is speech, once it has ended, becomes a
segment like any other.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from edge.speaker_runs import ActivityModel


@dataclass(frozen=True)
class RescueSettings:
    threshold: float = 0.8
    """A frame is speech when some local speaker's probability exceeds this (the VAD's own threshold is
    silero's 0.5; at 0.5 the model alone false-alarms on 11.8 % of the non-speech of dev phone calls)."""
    min_speech_s: float = 0.5
    """Shorter stretches are left alone: a cough, a tap on the table, a word Whisper gets nothing from."""
    settle_s: float = 0.3
    """A stretch counts once this much non-speech follows it: it has ended, and the model has seen its end
    with some right context."""
    piece_s: float = 3.0
    """A stretch still going on is let out in pieces this long (seconds), so a long turn the VAD misses is
    neither held nor lost past the model's window."""


@dataclass(frozen=True)
class FoundSpeech:
    start_s: float
    end_s: float
    ended: bool
    """False for a piece of speech that goes on after ``end_s``."""


class SpeechRescuer:
    def __init__(self, model: ActivityModel, settings: RescueSettings | None = None) -> None:
        self.settings = settings or RescueSettings()
        self._model = model

    def find(
        self, audio: np.ndarray, rate: int, audio_start_s: float, since_s: float, final: bool = False
    ) -> list[FoundSpeech]:
        """Speech after ``since_s`` in ``audio`` (which starts at ``audio_start_s`` on the call's clock and ends
        now), in time order: stretches that have ended, and a piece of one going on once it is long enough.
        ``final``: the audio ends here (the call is over), so whatever is found has ended."""
        s = self.settings
        if len(audio) < rate:
            return []
        activity = self._model.activity(audio)
        times = audio_start_s + activity.frame_times_s()
        step = activity.frame_step_s
        speech = (activity.probabilities.max(axis=1) > s.threshold) & (times >= since_s)
        settled_before = audio_start_s + len(audio) / rate - (0.0 if final else s.settle_s)
        out = []
        for is_speech, group in itertools.groupby(range(len(speech)), key=lambda i: bool(speech[i])):
            idx = list(group)
            start, end = max(float(times[idx[0]]) - step / 2, since_s), float(times[idx[-1]]) + step / 2
            if not is_speech or end - start < s.min_speech_s:
                continue
            if end <= settled_before:
                out.append(FoundSpeech(start, end, ended=True))
            elif settled_before - start >= s.piece_s:
                out.append(FoundSpeech(start, settled_before, ended=False))
        return out
