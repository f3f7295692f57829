"""Synthetic voices: a distinct, deterministic voice for every speaker of a call (espeak-ng here;
the neural voices are in ``neural_voices``).

Each tenant's rep keeps the same voice in every call (as a real rep would), so an enrollment clip
of that voice means something; customers get other voices, never the rep's.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import soundfile
import soxr

RATE_HZ = 16_000


@dataclass(frozen=True)
class Voice:
    espeak_voice: str
    """espeak-ng voice+variant, e.g. ``en-us+m3``."""
    pitch: int
    """espeak-ng pitch, 0-99 (50 is the default)."""
    words_per_minute: int


MALE = (
    Voice("en-us+m3", 40, 168),
    Voice("en-gb+m1", 35, 160),
    Voice("en-us+m7", 55, 172),
    Voice("en-gb-x-rp+m2", 45, 158),
    Voice("en-us+Andy", 50, 165),
    Voice("en-029+m4", 38, 162),
)
FEMALE = (
    Voice("en-us+f3", 60, 170),
    Voice("en-gb+f2", 65, 162),
    Voice("en-us+f4", 55, 175),
    Voice("en-gb-x-rp+f5", 62, 160),
    Voice("en-us+Annie", 58, 168),
    Voice("en-029+f1", 64, 165),
)


@dataclass(frozen=True)
class VoiceBank:
    """The voices a render may use: a fixed one per tenant's rep, pools for everyone else."""

    name: str
    male: tuple[Any, ...]
    female: tuple[Any, ...]
    reps: dict[str, Any]
    alike: tuple[frozenset[Any], ...] = ()
    """Groups of voices a speaker model hears as one person: a call never gets two of one group, or its
    "two speakers" would be one voice to any diarizer and the evaluation would measure the bank, not the agent."""


ESPEAK_BANK = VoiceBank(
    "espeak",
    MALE,
    FEMALE,
    {
        "comfortpro-hvac": MALE[0],
        "summit-roofing": FEMALE[0],
        "brightside-solar": FEMALE[1],
        "shieldline-pest": MALE[1],
    },
)


def stable_seed(*parts: object) -> int:
    """A seed that is the same on every machine and Python run (unlike ``hash``)."""
    return zlib.crc32("|".join(str(p) for p in parts).encode())


def assign_voices(bank: VoiceBank, tenant: str, speakers: list[tuple[str, str, str]]) -> dict[str, Any]:
    """``speakers`` are (id, role, sex); a distinct voice for each (never two the bank declares alike), the
    rep's fixed by tenant."""
    rep_voice = bank.reps.get(tenant)
    assigned: dict[str, Any] = {}
    used = _with_alike(bank, rep_voice) if rep_voice else set()
    for speaker_id, role, sex in speakers:
        if role == "rep" and rep_voice is not None:
            assigned[speaker_id] = rep_voice
            continue
        pool = [v for v in (bank.male if sex == "male" else bank.female) if v not in used]
        if not pool:
            raise ValueError(f"the {bank.name} voice bank has no {sex} voice left for {speaker_id!r}")
        choice = pool[stable_seed(tenant, speaker_id, sex) % len(pool)]
        assigned[speaker_id] = choice
        used |= _with_alike(bank, choice)
    return assigned


def _with_alike(bank: VoiceBank, voice: Any) -> set[Any]:
    """The voice and every voice the bank declares alike to it."""
    return {voice}.union(*(group for group in bank.alike if voice in group))


class Synthesizer(Protocol):
    def synthesize(self, text: str, voice: Any) -> np.ndarray:
        """Mono float32 speech at 16 kHz, without leading or trailing silence."""
        ...


class CachedSynthesizer:
    """Caches every (text, voice) on disk: re-rendering a corpus re-synthesizes nothing."""

    def __init__(self, cache_dir: Path) -> None:
        self._cache_dir = cache_dir
        cache_dir.mkdir(parents=True, exist_ok=True)

    def synthesize(self, text: str, voice: Any) -> np.ndarray:
        key = hashlib.sha256(f"{voice}|{text}".encode()).hexdigest()[:24]
        cached = self._cache_dir / f"{key}.npy"
        if cached.is_file():
            return np.load(cached)
        audio, rate = self._speak(text, voice)
        out = trim_silence(soxr.resample(audio, rate, RATE_HZ).astype(np.float32))
        tmp = cached.with_suffix(".tmp.npy")
        np.save(tmp, out)
        tmp.replace(cached)
        return out

    def _speak(self, text: str, voice: Any) -> tuple[np.ndarray, int]:
        """Mono float32 speech and its sample rate."""
        raise NotImplementedError


class EspeakSynthesizer(CachedSynthesizer):
    def _speak(self, text: str, voice: Voice) -> tuple[np.ndarray, int]:
        cmd = ["espeak-ng", "-v", voice.espeak_voice, "-p", str(voice.pitch), "-s", str(voice.words_per_minute),
               "--stdout"]  # fmt: skip
        result = subprocess.run(cmd, input=text.encode(), capture_output=True, check=True)
        data, rate = soundfile.read(io.BytesIO(result.stdout), dtype="float32")
        return np.asarray(data, dtype=np.float32), int(rate)


def trim_silence(audio: np.ndarray, threshold: float = 1e-3) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return audio[loud[0] : loud[-1] + 1] if len(loud) else audio[:0]
