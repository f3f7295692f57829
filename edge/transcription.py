"""ASR stage: a speaker turn's audio → its text and a confidence in the words.

sherpa-onnx's Whisper path returns no token probabilities, so ``asr_confidence`` is a plausibility
score built from Whisper's known failure signs, not a probability: non-speech tags
("[BLANK_AUDIO]", "(music)"), a hallucination loop (the same phrase over and over), and a speaking
rate no person produces. Text that is only tags is dropped: there was no speech to cite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from models.asr import Transcript

# A tag Whisper left unclosed ("[BLANK_" at the end of a short clip) is a tag too.
_TAG = re.compile(r"\[[^\]]*(\]|$)|\([^)]*(\)|$)|\*[^*]*\*|♪+")
_WORD = re.compile(r"[a-z0-9']+")


class Transcriber(Protocol):
    def transcribe(self, samples: np.ndarray, rate_hz: int = 16_000) -> Transcript: ...


@dataclass(frozen=True)
class TranscriptionSettings:
    max_chars_per_s: float = 25.0
    """Faster than this (characters per second of audio) is not speech someone said."""
    min_audio_s: float = 0.15
    """Shorter audio is not sent to the recogniser at all."""


@dataclass(frozen=True)
class Words:
    text: str
    confidence: float
    decode_s: float


class TranscriptionStage:
    def __init__(self, transcriber: Transcriber, settings: TranscriptionSettings | None = None) -> None:
        self.settings = settings or TranscriptionSettings()
        self._transcriber = transcriber

    def process(self, samples: np.ndarray, rate_hz: int) -> Words | None:
        """The words in the audio, or None when there are none worth keeping."""
        duration_s = len(samples) / rate_hz
        if duration_s < self.settings.min_audio_s:
            return None
        transcript = self._transcriber.transcribe(samples, rate_hz)
        text = " ".join(_TAG.sub(" ", transcript.text).split())
        if not _WORD.search(text.lower()):
            return None
        return Words(text, plausibility(text, duration_s, self.settings.max_chars_per_s), transcript.decode_s)


def plausibility(text: str, duration_s: float, max_chars_per_s: float) -> float:
    """1.0 for ordinary speech; lower for the ways Whisper goes wrong."""
    words = _WORD.findall(text.lower())
    score = 1.0
    if len(words) >= 6:
        distinct_trigrams = len(set(zip(words, words[1:], words[2:], strict=False)))
        repetition = 1.0 - distinct_trigrams / (len(words) - 2)
        score -= repetition  # a loop repeats trigrams; ordinary speech almost never does
    rate = len(text) / max(duration_s, 1e-3)
    if rate > max_chars_per_s:
        score -= min(0.5, (rate - max_chars_per_s) / max_chars_per_s)
    return round(max(score, 0.05), 3)
