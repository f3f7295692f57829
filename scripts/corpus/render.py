"""Render one call in one condition: audio plus reference RTTM, STM, roles, enrollment clip.

Deterministic: the same call, condition and seed give the same bytes. A render is skipped when
its key (call text, condition, seed, renderer version) has not changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from scripts.corpus.acoustics import CONDITIONS, Condition, render_condition
from scripts.corpus.schema import Call
from scripts.corpus.timeline import lay_out, speaker_tracks, speech_spans
from scripts.corpus.voices import ESPEAK_BANK, RATE_HZ, Synthesizer, VoiceBank, assign_voices, stable_seed

RENDERER_VERSION = 3  # 3: reference RTTM without in-turn pauses
# The rep reads this to enroll their voice: the Rainbow Passage (public domain), in no call.
ENROLLMENT_TEXT = (
    "When the sunlight strikes raindrops in the air, they act as a prism and form a rainbow. "
    "The rainbow is a division of white light into many beautiful colors. These take the shape of a "
    "long round arch, with its path high above, and its two ends apparently beyond the horizon. "
    "There is, according to legend, a boiling pot of gold at one end. People look, but no one ever finds it."
)


@dataclass(frozen=True)
class RenderedCall:
    call_id: str
    condition: str
    wav: Path
    duration_s: float
    cached: bool


def render_call(
    call: Call,
    condition: Condition,
    out_dir: Path,
    synth: Synthesizer,
    rooms_dir: Path,
    seed: int = 0,
    bank: VoiceBank = ESPEAK_BANK,
) -> RenderedCall:
    out_dir.mkdir(parents=True, exist_ok=True)
    wav = out_dir / f"{call.id}.wav"
    voices = assign_voices(bank, call.tenant, [(s.id, s.role, s.sex) for s in call.speakers])
    key = _key(call, condition, seed, {speaker: str(voice) for speaker, voice in voices.items()})
    key_file = out_dir / f"{call.id}.key"
    if wav.is_file() and key_file.is_file() and key_file.read_text() == key:
        return RenderedCall(call.id, condition.name, wav, soundfile.info(wav).duration, cached=True)

    rng = np.random.default_rng(stable_seed(call.id, condition.name, seed))
    audio = {u.id: synth.synthesize(u.text, voices[u.speaker]) for u in call.utterances}
    placed = lay_out(call, audio, np.random.default_rng(stable_seed(call.id, "timeline", seed)))
    tracks, duration_s = speaker_tracks(placed, audio)
    roles = {s.id: s.role for s in call.speakers}
    mix = render_condition(tracks, roles, condition, rooms_dir, rng)

    times = {p.utterance_id: p for p in placed}
    rendered = call.model_copy(
        update={"utterances": [u.model_copy(update={"start_s": times[u.id].start_s, "end_s": times[u.id].end_s})
                               for u in call.utterances]}
    )  # fmt: skip
    _write_wav(wav, mix)
    (out_dir / f"{call.id}.json").write_text(rendered.model_dump_json(indent=1))
    (out_dir / f"{call.id}.rttm").write_text(
        "".join(
            f"SPEAKER {call.id} 1 {start:.3f} {end - start:.3f} <NA> <NA> {p.speaker_id} <NA> <NA>\n"
            for p in placed
            for start, end in speech_spans(p, audio[p.utterance_id])
        )
    )
    texts = {u.id: u.text for u in call.utterances}
    (out_dir / f"{call.id}.stm").write_text(
        "".join(f"{call.id} 1 {p.speaker_id} {p.start_s:.3f} {p.end_s:.3f} {texts[p.utterance_id]}\n" for p in placed)
    )
    (out_dir / f"{call.id}.roles.json").write_text(json.dumps(roles, indent=1))
    rep = next(s for s in call.speakers if s.role == "rep")
    _write_wav(out_dir / f"{call.id}.enroll.wav", enrollment_clip(synth, voices[rep.id], condition, rooms_dir))
    key_file.write_text(key)
    return RenderedCall(call.id, condition.name, wav, duration_s, cached=False)


def enrollment_clip(synth: Synthesizer, voice: Any, condition: Condition, rooms_dir: Path) -> np.ndarray:
    """The rep reading the enrollment passage in a quiet room, through the same phone channel."""
    speech = synth.synthesize(ENROLLMENT_TEXT, voice)
    quiet = Condition(f"{condition.name}-enroll", "none", phone_channel=condition.phone_channel)
    padded = np.concatenate([np.zeros(RATE_HZ // 2, np.float32), speech, np.zeros(RATE_HZ // 2, np.float32)])
    return render_condition({"rep": padded}, {"rep": "rep"}, quiet, rooms_dir, np.random.default_rng(0))


def _write_wav(path: Path, audio: np.ndarray) -> None:
    tmp = path.with_suffix(".tmp.wav")
    soundfile.write(tmp, audio, RATE_HZ, subtype="PCM_16")
    tmp.replace(path)


def _key(call: Call, condition: Condition, seed: int, voices: dict[str, str]) -> str:
    """Everything the audio depends on: a change to any of it renders the call again."""
    material = json.dumps(
        {
            "call": call.model_dump(mode="json"),
            "condition": asdict(condition),
            "seed": seed,
            "voices": voices,
            "v": RENDERER_VERSION,
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()


__all__ = ["CONDITIONS", "ENROLLMENT_TEXT", "RenderedCall", "render_call"]
