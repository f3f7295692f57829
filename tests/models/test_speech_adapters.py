"""Each speech adapter on real recordings from ../shared/data, with figures printed."""

from __future__ import annotations

import itertools
from pathlib import Path

import jiwer
import numpy as np
import pytest
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from edge.audio_file import read_audio
from models.errors import ModelCorruptError, ModelRuntimeError
from models.loaders import (
    CAMPPLUS_FILE,
    load_diarizer,
    load_segmentation,
    load_speaker_embedder,
    load_vad,
    load_whisper,
)
from models.registry import get_spec
from models.speaker import DiarizationSettings, SpeakerEmbedder, cosine
from models.store import ModelStore
from models.vad import VadSettings
from models.webrtc_vad import WebRtcVad
from scripts.speech_eval.labels import read_rttm, read_stm

NORMALISE = jiwer.Compose(
    [jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(), jiwer.Strip(),
     jiwer.ReduceToListOfListOfWords()]
)  # fmt: skip


@pytest.fixture(scope="module")
def sample(shared_data: Path) -> Path:
    return shared_data / "audio" / "pyannote-sample"


@pytest.mark.parametrize("engine", ["silero", "webrtc"])
def test_vad_segments_cover_the_labelled_speech(store: ModelStore, sample: Path, engine: str) -> None:
    clip = read_audio(sample / "sample.wav")
    vad = load_vad(store, VadSettings(engine=engine))  # type: ignore[arg-type]
    segments = []
    for offset in range(0, len(clip.samples), 1600):  # 100 ms blocks, as from a microphone
        segments += vad.accept(clip.samples[offset : offset + 1600])
    segments += vad.flush()
    hypothesis = Annotation()
    for s in segments:
        start = s.start_sample / clip.rate_hz
        hypothesis[Segment(start, start + len(s.samples) / clip.rate_hz)] = "speech"
    reference = read_rttm(sample / "sample.rttm").get_timeline().support()
    covered = hypothesis.get_timeline().support().crop(reference).duration() / reference.duration()
    print(f"VAD ({engine}): {len(segments)} segments cover {covered:.1%} of the labelled speech")
    assert covered >= 0.9
    ends = [(s.start_sample, s.start_sample + len(s.samples)) for s in segments]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(ends))  # in order, never overlapping
    if engine == "webrtc":  # Silero's max_speech_s only makes sherpa stricter, it is no hard cut (a 22 s segment here)
        assert all(len(s.samples) <= VadSettings().max_speech_s * clip.rate_hz for s in segments)


def test_webrtc_vad_cuts_long_speech_at_max_speech_s_and_goes_on_at_once() -> None:
    class AllVoiced:
        def is_speech(self, pcm: bytes, rate: int) -> bool:
            return True

    vad = WebRtcVad()
    vad._vad = AllVoiced()  # every frame speech: one long monologue
    segments = vad.accept(np.full(16_000 * 10, 0.1, dtype=np.float32)) + vad.flush()
    bounds = [(s.start_sample / 16_000, (s.start_sample + len(s.samples)) / 16_000) for s in segments]
    assert [round(b - a, 2) for a, b in bounds] == [7.98, 2.01]  # 266 frames of 30 ms, then the rest
    assert bounds[0][0] == 0.0 and bounds[1][0] == bounds[0][1]  # no gap at the cut


def test_webrtc_vad_hears_nothing_in_silence_and_names_what_it_cannot_take() -> None:
    vad = WebRtcVad()
    assert vad.accept(np.zeros(16_000 * 3, dtype=np.float32)) + vad.flush() == []
    assert not vad.is_speech()
    with pytest.raises(ValueError, match="Hz"):
        WebRtcVad(VadSettings(engine="webrtc", sample_rate_hz=22_050))
    with pytest.raises(ValueError, match="aggressiveness"):
        WebRtcVad(VadSettings(engine="webrtc", webrtc_aggressiveness=7))


def test_whisper_transcribes_the_sample_call(store: ModelStore, sample: Path) -> None:
    clip = read_audio(sample / "sample.wav")
    asr = load_whisper(store)
    references, hypotheses, decode_s, audio_s = [], [], 0.0, 0.0
    for line in read_stm(sample / "sample.stm"):
        # A little context either side, as the VAD's padding gives the live pipeline.
        cut = clip.samples[int((line.start_s - 0.2) * clip.rate_hz) : int((line.end_s + 0.2) * clip.rate_hz)]
        result = asr.transcribe(cut, clip.rate_hz)
        references.append(line.text)
        hypotheses.append(result.text or "")
        decode_s += result.decode_s
        audio_s += len(cut) / clip.rate_hz
    wer = jiwer.wer(references, hypotheses, reference_transform=NORMALISE, hypothesis_transform=NORMALISE)
    print(f"Whisper tiny.en on sample.wav: WER {wer:.1%} over {len(references)} STM utterances, "
          f"RTF {decode_s / audio_s:.3f} (1 thread)")  # fmt: skip
    assert wer < 0.35  # a broken conversion scores far above 50 %


def test_whisper_handles_short_clips_and_refuses_what_it_would_truncate(store: ModelStore, sample: Path) -> None:
    clip = read_audio(sample / "sample.wav")
    asr = load_whisper(store)
    short = asr.transcribe(clip.samples[int(14.44 * 16000) : int(17.77 * 16000)], 16000)  # 3.3 s
    assert "sheila" in short.text.lower()
    assert asr.transcribe(np.zeros(0, dtype=np.float32)).text == ""
    with pytest.raises(ModelRuntimeError, match="exceeds 30 s"):
        asr.transcribe(np.zeros(31 * 16000, dtype=np.float32))


def test_a_token_holding_half_a_character_costs_the_tokens_not_the_words() -> None:
    """sherpa-onnx decodes each of Whisper's byte-level tokens alone; half of a multi-byte character raises."""
    from models.asr import WhisperTranscriber

    class Result:
        text = " Café's open till nine. "

        @property
        def tokens(self) -> list[str]:
            raise UnicodeDecodeError("utf-8", b"\xc3", 0, 1, "unexpected end of data")

    class Stream:
        result = Result()

        def accept_waveform(self, rate_hz: int, samples: np.ndarray) -> None:
            pass

    class Recognizer:  # the binding's side of a decode
        def create_stream(self) -> Stream:
            return Stream()

        def decode_stream(self, stream: Stream) -> None:
            pass

    asr = object.__new__(WhisperTranscriber)
    asr._recognizer = Recognizer()
    transcript = asr.transcribe(np.zeros(16_000, dtype=np.float32))
    assert transcript.text == "Café's open till nine." and transcript.tokens == ()


def test_campplus_same_speaker_is_closer_than_different(store: ModelStore, sample: Path) -> None:
    clip = read_audio(sample / "sample.wav")
    embedder = load_speaker_embedder(store)
    assert embedder.dim == 192
    vectors = [
        (speaker, embedder.embed(clip.samples[int(turn.start * 16000) : int(turn.end * 16000)]))
        for turn, _, speaker in read_rttm(sample / "sample.rttm").itertracks(yield_label=True)
        if turn.duration >= 1.0
    ]
    same = [cosine(a, b) for i, (sa, a) in enumerate(vectors) for sb, b in vectors[i + 1 :] if sa == sb]
    different = [cosine(a, b) for i, (sa, a) in enumerate(vectors) for sb, b in vectors[i + 1 :] if sa != sb]
    ordered = np.mean([a > b for a in same for b in different])
    print(
        f"CAM++: mean cosine same speaker {np.mean(same):.3f}, different {np.mean(different):.3f}; "
        f"{ordered:.0%} of (same, different) pairs ordered right"
    )
    assert np.mean(same) > np.mean(different) + 0.25
    assert ordered >= 0.9
    with pytest.raises(ModelRuntimeError, match="too short"):
        embedder.embed(np.zeros(1000, dtype=np.float32))


@pytest.mark.parametrize(
    ("recording", "max_der"),
    [("pyannote-sample/sample", 0.05), ("ami-es2004-4spk/mixture", 0.15), ("ami-dev00/dev00", 0.35)],
)
def test_offline_diarization_matches_the_reference(
    store: ModelStore, shared_data: Path, recording: str, max_der: float
) -> None:
    path = shared_data / "audio" / recording
    clip = read_audio(path.with_suffix(".wav"))
    turns = load_diarizer(store, DiarizationSettings()).diarize(clip.samples)
    hypothesis = Annotation()
    for t in turns:
        hypothesis[Segment(t.start_s, t.end_s)] = f"spk{t.speaker}"
    metric = DiarizationErrorRate(collar=0.25, skip_overlap=False)
    reference = read_rttm(path.with_suffix(".rttm"))
    der = metric(reference, hypothesis, uem=Timeline([Segment(0.0, clip.duration_s)]))
    print(f"offline diarization {recording}: DER {der:.1%}, {len(hypothesis.labels())} speakers")
    assert der <= max_der


def test_segmentation_hears_who_speaks_when_in_a_window(store: ModelStore, sample: Path) -> None:
    """On 10 s of the sample (the two women alternating) the model's frames say speech where the labels
    do, and each woman's labelled speech is held by a different local speaker."""
    clip = read_audio(sample / "sample.wav")
    offset_s = 8.0
    window = clip.samples[int(offset_s * clip.rate_hz) : int((offset_s + 10.0) * clip.rate_hz)]
    activity = load_segmentation(store).activity(window)
    times = offset_s + activity.frame_times_s()
    talking = activity.probabilities > 0.5
    reference = read_rttm(sample / "sample.rttm").crop(Segment(offset_s, offset_s + 10.0))
    speech = reference.get_timeline().support()
    labelled = np.array([any(seg.start <= t < seg.end for seg in speech) for t in times])
    agreement = float(np.mean(talking.any(axis=1) == labelled))
    print(f"segmentation: {len(times)} frames, speech agreement {agreement:.1%}")
    assert len(times) == 589 and activity.probabilities.shape[1] == 3
    assert agreement >= 0.85
    holders = {}
    for who in reference.labels():
        theirs = np.array([any(seg.start <= t < seg.end for seg in reference.label_timeline(who)) for t in times])
        holders[who] = int(np.argmax(activity.probabilities[theirs].mean(axis=0)))
    assert len(holders) == 2 and len(set(holders.values())) == 2
    with pytest.raises(ModelRuntimeError, match="too short"):
        load_segmentation(store).activity(np.zeros(100, dtype=np.float32))


def test_a_damaged_onnx_model_is_a_typed_error_naming_the_file(store: ModelStore, tmp_path: Path) -> None:
    good = store.require(get_spec("campplus")) / CAMPPLUS_FILE
    damaged = tmp_path / "campplus" / CAMPPLUS_FILE
    damaged.parent.mkdir()
    data = bytearray(good.read_bytes())
    data[100:5000] = b"\xff" * 4900
    damaged.write_bytes(bytes(data))
    with pytest.raises(ModelCorruptError) as err:
        SpeakerEmbedder(damaged)
    assert str(damaged) in str(err.value) and "campplus --force" in err.value.fix
