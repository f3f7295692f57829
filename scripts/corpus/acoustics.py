"""Turn dry speaker tracks into what a phone on the table hears: room, noise, band-limit, codec."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import soxr
from scipy.signal import fftconvolve

from scripts.corpus.voices import RATE_HZ


@dataclass(frozen=True)
class Condition:
    name: str
    room: str
    """"none", "shoebox" (pyroomacoustics) or "measured" (shared/data impulse responses)."""
    room_dims_m: tuple[float, float, float] = (4.0, 5.0, 2.7)
    rt60_s: float = 0.0
    snr_db: float | None = None
    """Speech-to-noise ratio of the background noise; None for none."""
    handling_noises: int = 0
    """How many phone-handling or table-tap transients to add."""
    phone_channel: bool = False
    """300-3400 Hz band-limit and a GSM 06.10 round trip at 8 kHz."""


CONDITIONS: dict[str, Condition] = {
    c.name: c
    for c in (
        Condition("clean", "none"),
        Condition("kitchen", "shoebox", (4.0, 5.0, 2.7), rt60_s=0.45, snr_db=20.0, handling_noises=2),
        Condition("basement", "shoebox", (7.5, 9.0, 2.3), rt60_s=0.9, snr_db=10.0, handling_noises=3),
        Condition("phone", "measured", snr_db=15.0, handling_noises=3, phone_channel=True),
    )
}
# Measured rooms of household size (RT60 about 0.1-0.6 s). Left out: speechbrain-rir2 and -rir3
# ring for 2-4 s (a hall, not a home), and the seminar-room clap, because a hand clap is a noise
# burst, not an impulse: convolved with it, voices turn to a whisper that no VAD calls speech.
MEASURED_ROOMS = ("speechbrain-rir1.wav", "speechbrain-rir4.wav")
# Distance of each role from the phone on the table (metres): the rep sits closest.
ROLE_DISTANCE_M = {"rep": 0.8, "customer": 1.5, "other": 2.2}


def render_condition(
    tracks: dict[str, np.ndarray],
    roles: dict[str, str],
    condition: Condition,
    rooms_dir: Path,
    rng: np.random.Generator,
) -> np.ndarray:
    if condition.room == "shoebox":
        mix = _shoebox(tracks, roles, condition, rng)
    elif condition.room == "measured":
        mix = _measured(tracks, roles, rooms_dir, rng)
    else:
        mix = np.sum(list(tracks.values()), axis=0)
    if condition.snr_db is not None:
        mix = mix + _noise(len(mix), rooms_dir, rng) * _noise_gain(mix, condition.snr_db)
    if condition.handling_noises:
        mix = _add_transients(mix, rooms_dir, condition.handling_noises, rng)
    if condition.phone_channel:
        mix = phone_channel(mix)
    return _normalise(mix)


def _shoebox(
    tracks: dict[str, np.ndarray], roles: dict[str, str], condition: Condition, rng: np.random.Generator
) -> np.ndarray:
    import pyroomacoustics as pra

    dims = np.array(condition.room_dims_m)
    absorption, max_order = pra.inverse_sabine(condition.rt60_s, dims)
    room = pra.ShoeBox(dims, fs=RATE_HZ, materials=pra.Material(absorption), max_order=min(max_order, 14))
    phone = np.array([dims[0] / 2, dims[1] / 2, 0.9])  # on the table
    room.add_microphone(phone)
    for speaker_id, track in tracks.items():
        distance = ROLE_DISTANCE_M[roles[speaker_id]] * rng.uniform(0.85, 1.15)
        angle = rng.uniform(0, 2 * np.pi)
        height = rng.uniform(1.1, 1.6)  # seated or standing
        position = phone + np.array([distance * np.cos(angle), distance * np.sin(angle), height - phone[2]])
        room.add_source(np.clip(position, 0.3, dims - 0.3), signal=track)
    room.simulate()
    return np.asarray(room.mic_array.signals[0][: len(next(iter(tracks.values())))], dtype=np.float32)


def _measured(
    tracks: dict[str, np.ndarray], roles: dict[str, str], rooms_dir: Path, rng: np.random.Generator
) -> np.ndarray:
    irs = [rooms_dir / "impulse-responses" / name for name in MEASURED_ROOMS]
    order = rng.permutation(len(irs))
    mix = np.zeros(len(next(iter(tracks.values()))), dtype=np.float32)
    for i, (speaker_id, track) in enumerate(tracks.items()):
        wet = fftconvolve(track, _direct_path_first(_read(irs[order[i % len(irs)]])))[: len(mix)]
        # Measured responses differ wildly in gain; keep each voice's level, falling off with distance.
        level = _rms(track) / (_rms(wet) or 1.0) / ROLE_DISTANCE_M[roles[speaker_id]]
        mix += (wet * level).astype(np.float32)
    return mix


def _direct_path_first(ir: np.ndarray) -> np.ndarray:
    # Some measured responses start with silence before the direct sound; without trimming it every
    # word would land later than its reference time.
    return ir[max(int(np.argmax(np.abs(ir))) - RATE_HZ // 1000, 0) :]


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(audio**2)))


def _noise(n: int, rooms_dir: Path, rng: np.random.Generator) -> np.ndarray:
    """Background noise of length n: the shared noise recordings, shuffled and looped."""
    clips = [_read(p) for p in sorted((rooms_dir / "noise").glob("speechbrain-noise*.wav"))]
    pieces, total = [], 0
    while total < n:
        clip = clips[rng.integers(len(clips))]
        start = int(rng.integers(max(len(clip) // 2, 1)))
        piece = clip[start:]
        pieces.append(piece)
        total += len(piece)
    return np.concatenate(pieces)[:n].astype(np.float32)


def _noise_gain(speech: np.ndarray, snr_db: float) -> float:
    # Speech power over active frames only, so long pauses do not make the noise quieter.
    frames = speech[: len(speech) // 320 * 320].reshape(-1, 320)
    power = (frames**2).mean(axis=1)
    active = power[power > power.max() * 1e-3]
    speech_power = float(active.mean()) if len(active) else 1e-8
    return float(np.sqrt(speech_power / 10 ** (snr_db / 10)))


def _add_transients(mix: np.ndarray, rooms_dir: Path, count: int, rng: np.random.Generator) -> np.ndarray:
    clips = [_read(p) for p in sorted((rooms_dir / "noise").glob("*-48k.wav"))]
    out = mix.copy()
    peak = float(np.max(np.abs(mix))) or 1.0
    for _ in range(count):
        clip = clips[rng.integers(len(clips))]
        clip = clip / (np.max(np.abs(clip)) or 1.0) * peak * rng.uniform(0.3, 0.8)
        at = int(rng.integers(max(len(out) - len(clip), 1)))
        out[at : at + len(clip)] += clip[: len(out) - at]
    return out


def phone_channel(audio: np.ndarray) -> np.ndarray:
    """300-3400 Hz and a GSM 06.10 round trip through sox (no dither, so it is deterministic)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, gsm, back = Path(tmp) / "in.wav", Path(tmp) / "x.gsm", Path(tmp) / "out.wav"
        soundfile.write(src, _normalise(audio, peak=0.5), RATE_HZ, subtype="PCM_16")  # headroom: sinc overshoots
        subprocess.run(["sox", "-D", str(src), "-r", "8000", "-c", "1", str(gsm), "sinc", "300-3400"], check=True)
        subprocess.run(["sox", "-D", str(gsm), "-r", str(RATE_HZ), "-b", "16", str(back)], check=True)
        data, _ = soundfile.read(back, dtype="float32")
    return np.asarray(data[: len(audio)], dtype=np.float32)


def _read(path: Path) -> np.ndarray:
    data, rate = soundfile.read(path, dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    return soxr.resample(mono, rate, RATE_HZ).astype(np.float32) if rate != RATE_HZ else mono


def _normalise(audio: np.ndarray, peak: float = 0.89) -> np.ndarray:
    top = float(np.max(np.abs(audio))) or 1.0
    return (audio * (peak / top)).astype(np.float32)
