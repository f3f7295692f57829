"""The renderer end to end on a short call: deterministic, cached, labels that match the audio."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import soundfile
from pyannote.core import Annotation, Segment

from edge.audio_file import read_audio
from models.loaders import load_speaker_embedder, load_vad
from models.speaker import cosine
from models.store import ModelStore
from scripts.corpus.neural_voices import NEURAL_BANK, NeuralSynthesizer
from scripts.corpus.render import CONDITIONS, RenderedCall, render_call
from scripts.corpus.schema import load_call, load_split
from scripts.corpus.voices import ESPEAK_BANK, EspeakSynthesizer, assign_voices
from scripts.speech_eval.labels import read_rttm

FIXTURE = Path(__file__).parent / "fixtures" / "short-call.json"


def test_every_condition_writes_audio_and_labels(rendered: dict[str, Path]) -> None:
    for wav in rendered.values():
        info = soundfile.info(wav)
        assert info.samplerate == 16_000 and info.channels == 1 and info.duration > 30
        for suffix in (".rttm", ".stm", ".roles.json", ".enroll.wav", ".json"):
            assert wav.with_suffix("").with_name(wav.stem + suffix).is_file(), suffix
    stm = rendered["kitchen"].with_suffix(".stm").read_text().splitlines()
    assert len(stm) == 12 and "Thursday at four" in stm[-2]


@pytest.mark.parametrize("condition", ["clean", "kitchen", "basement", "phone"])
def test_vad_speech_regions_agree_with_the_reference_turns(
    rendered: dict[str, Path], store: ModelStore, condition: str
) -> None:
    wav = rendered[condition]
    clip = read_audio(wav)
    vad = load_vad(store)
    segments = vad.accept(clip.samples) + vad.flush()
    hypothesis = Annotation()
    for s in segments:
        start = s.start_sample / clip.rate_hz
        hypothesis[Segment(start, start + len(s.samples) / clip.rate_hz)] = "speech"
    reference = read_rttm(wav.with_suffix(".rttm")).get_timeline().support()
    speech = hypothesis.get_timeline().support()
    recall = speech.crop(reference).duration() / reference.duration()
    precision = reference.crop(speech).duration() / speech.duration()
    print(f"{condition}: VAD covers {recall:.1%} of reference speech; {precision:.1%} of VAD speech is reference")
    assert recall >= 0.9
    assert precision >= 0.8


def test_rendering_is_deterministic_and_cached(
    rendered: dict[str, Path], tmp_path: Path, shared_data: Path, store: ModelStore
) -> None:
    call = load_call(FIXTURE)
    # An empty synthesis cache: the voices, rooms, noise and timing are all made anew, as on another
    # machine (Piper's sampling noise is off for this; Kokoro has none).
    synth = NeuralSynthesizer(store, tmp_path / "tts-cache", threads=1)

    def render() -> RenderedCall:
        return render_call(call, CONDITIONS["phone"], tmp_path / "out", synth, shared_data / "rooms", bank=NEURAL_BANK)

    again = render()
    assert not again.cached
    first, _ = soundfile.read(rendered["phone"])
    second, _ = soundfile.read(again.wav)
    np.testing.assert_array_equal(first, second)
    assert again.wav.with_suffix(".rttm").read_text() == rendered["phone"].with_suffix(".rttm").read_text()
    assert render().cached


def test_espeak_voices_are_distinct_per_speaker_and_fixed_per_rep(tmp_path: Path, shared_data: Path) -> None:
    call = load_call(FIXTURE)
    voices = assign_voices(ESPEAK_BANK, call.tenant, [(s.id, s.role, s.sex) for s in call.speakers])
    assert len(set(voices.values())) == len(call.speakers)
    assert voices["rep"] == ESPEAK_BANK.reps["comfortpro-hvac"]
    result = render_call(
        call, CONDITIONS["clean"], tmp_path, EspeakSynthesizer(tmp_path / "tts"), shared_data / "rooms"
    )
    assert result.duration_s > 30


def test_voices_a_call_may_pair_are_two_people_to_the_speaker_model(store: ModelStore, tts_cache: Path) -> None:
    """Any two voices the neural bank may put in one call are apart to CAM++ (the agent's speaker model);
    the groups it declares alike never share a call (dev solar-02: rep and customer were one voice)."""
    synth = NeuralSynthesizer(store, tts_cache, threads=1)
    embedder = load_speaker_embedder(store)
    lines = ("We've been in the house eleven years, and the bills keep going up.", "How does the warranty work?")
    voices = list(dict.fromkeys([*NEURAL_BANK.male, *NEURAL_BANK.female]))
    heard = {v: [embedder.embed(synth.synthesize(line, v)) for line in lines] for v in voices}
    apart = {}
    for a, b in itertools.combinations(voices, 2):
        if not any({a, b} <= group for group in NEURAL_BANK.alike):
            apart[(a.style, b.style)] = float(np.mean([cosine(x, y) for x in heard[a] for y in heard[b]]))
    print({f"{a}~{b}": round(c, 2) for (a, b), c in apart.items()})
    assert max(apart.values()) < 0.6  # within one voice: 0.83-0.92; declared alike: 0.63-0.76
    for call in [load_call(FIXTURE), *load_split("dev"), *load_split("test")]:
        chosen = set(assign_voices(NEURAL_BANK, call.tenant, [(s.id, s.role, s.sex) for s in call.speakers]).values())
        assert all(len(chosen & group) <= 1 for group in NEURAL_BANK.alike), call.id
