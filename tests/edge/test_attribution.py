"""Speaker attribution on synthetic voices: fakes read the "voice" from the samples' level.

The real models (pyannote segmentation, CAM++) are covered end to end in test_speech_pipeline.py
and by scripts/eval_speech.py; here each rule is pinned down.
"""

from __future__ import annotations

import numpy as np
import pytest

from edge.attribution import AttributionSettings, SpeakerAttributor
from edge.frames import Role, SpeechSegment
from edge.voices import VoiceBook, VoiceSettings, unit
from models.segmentation import SpeakerActivity

RATE = 16_000
STEP_S = 0.017
RNG = np.random.default_rng(7)
VOICES = {level: v / np.linalg.norm(v) for level, v in ((lvl, RNG.normal(size=32)) for lvl in (1, 2, 3, 4, 5))}


class LevelEmbedder:
    """Embeds audio as the voice whose level (samples x 10) it mostly carries, plus a little noise."""

    def __init__(self, noise: float = 0.15) -> None:
        self.noise = noise
        self.calls = 0
        self._rng = np.random.default_rng(0)

    def embed(self, samples: np.ndarray, rate_hz: int = RATE) -> np.ndarray:
        self.calls += 1
        level = round(float(np.median(samples)) * 10)
        return VOICES[level] + self._rng.normal(scale=self.noise, size=32)


class LevelActivity:
    """Like the segmentation model: every frame's voice level is a local speaker, numbered in order of
    first appearance in the window (so local labels differ from window to window); level 0 is silence."""

    def __init__(self) -> None:
        self.windows: list[int] = []

    def activity(self, samples: np.ndarray) -> SpeakerActivity:
        self.windows.append(len(samples))
        hop = int(STEP_S * RATE)
        levels = [round(float(np.median(samples[i : i + hop])) * 10) for i in range(0, len(samples) - hop + 1, hop)]
        order = list(dict.fromkeys(lv for lv in levels if lv))
        probs = np.zeros((len(levels), 3), dtype=np.float32)
        for f, lv in enumerate(levels):
            if lv:
                probs[f, order.index(lv) % 3] = 0.95
        return SpeakerActivity(probs, STEP_S, STEP_S / 2)


def speech(*parts: tuple[int, float]) -> np.ndarray:
    """Concatenated stretches of (voice level, seconds)."""
    return np.concatenate([np.full(int(seconds * RATE), level / 10, dtype=np.float32) for level, seconds in parts])


def segment(samples: np.ndarray, start_s: float = 0.0) -> SpeechSegment:
    return SpeechSegment(samples, RATE, start_s, start_s + len(samples) / RATE, 0)


def attributor(embedder: LevelEmbedder | None = None, **kwargs: object) -> SpeakerAttributor:
    return SpeakerAttributor(embedder or LevelEmbedder(), LevelActivity(), **kwargs)  # type: ignore[arg-type]


def test_a_change_inside_one_segment_is_cut_where_the_segmentation_hears_it() -> None:
    a = attributor(voiceprint=VOICES[1], rep_id="joe")
    turns = a.attribute(segment(speech((1, 4.8), (2, 3.6)), start_s=10.0))
    assert [(t.speaker_id, t.role) for t in turns] == [("joe", Role.REP), ("spk1", Role.CUSTOMER)]
    assert turns[0].start_s == 10.0 and turns[1].end_s == pytest.approx(18.4)
    assert turns[0].end_s == pytest.approx(14.8, abs=2 * STEP_S)
    assert turns[0].end_s == turns[1].start_s


def test_a_blip_shorter_than_a_turn_does_not_cut_one() -> None:
    a = attributor(voiceprint=VOICES[1])
    turns = a.attribute(segment(speech((1, 3.0), (2, 0.2), (1, 3.0))))
    assert [t.speaker_id for t in turns] == ["rep"]


def test_speakers_are_recognised_again_across_segments_and_capped() -> None:
    a = attributor(settings=AttributionSettings(voices=VoiceSettings(max_speakers=3)))
    ids = []
    for n, level in enumerate([1, 2, 1, 3, 2, 4, 1]):
        ids += [t.speaker_id for t in a.attribute(segment(speech((level, 2.4)), start_s=3.0 * n))]
    assert ids[:5] == ["spk1", "spk2", "spk1", "spk3", "spk2"]
    assert ids[5] in {"spk1", "spk2", "spk3"}  # a fourth voice over the cap goes to a known one
    assert len(set(ids)) == 3


def test_continuity_carries_a_voice_the_embedding_gets_wrong() -> None:
    """The customer's next short segment embeds like the rep (a second of speech embeds noisily), but the
    segmentation window hears the same local speaker as the customer's turn a moment ago: continuity wins."""
    embedder = LevelEmbedder(noise=0.0)
    a = attributor(embedder, voiceprint=VOICES[1])
    a.attribute(segment(speech((1, 3.0))))
    (customer,) = a.attribute(segment(speech((2, 6.0)), start_s=3.0))
    misleading = (VOICES[1] * 0.6 + VOICES[2] * 0.4) / np.linalg.norm(VOICES[1] * 0.6 + VOICES[2] * 0.4)

    class Misleading(LevelEmbedder):
        def embed(self, samples: np.ndarray, rate_hz: int = RATE) -> np.ndarray:
            return misleading

    a._embedder = Misleading()
    (again,) = a.attribute(segment(speech((2, 0.6)), start_s=9.0))
    assert again.speaker_id == customer.speaker_id == "spk1"


def test_a_clear_voice_outweighs_continuity_from_a_merged_window() -> None:
    """In a reverberant room the segmentation model can hear the rep and then the customer as one local
    speaker. Continuity then links the customer's turn to the rep, but seconds of solo speech that sound
    nothing like the rep decide: a new voice, not the rep's."""

    class Merging(LevelActivity):
        def activity(self, samples: np.ndarray) -> SpeakerActivity:
            heard = super().activity(samples)
            merged = np.zeros_like(heard.probabilities)
            merged[:, 0] = heard.probabilities.max(axis=1)  # everyone is local speaker 0
            return SpeakerActivity(merged, STEP_S, STEP_S / 2)

    class SomewhatLikeTheRep(LevelEmbedder):
        def embed(self, samples: np.ndarray, rate_hz: int = RATE) -> np.ndarray:
            voice = super().embed(samples, rate_hz)
            if round(float(np.median(samples)) * 10) == 2:  # cosine 0.25 to the rep, as voices in a room are
                voice = 0.25 * VOICES[1] + np.sqrt(1 - 0.25**2) * unit(VOICES[2] - (VOICES[2] @ VOICES[1]) * VOICES[1])
            return voice

    a = SpeakerAttributor(SomewhatLikeTheRep(noise=0.0), Merging(), voiceprint=VOICES[1])  # type: ignore[arg-type]
    (rep,) = a.attribute(segment(speech((1, 4.0))))
    (customer,) = a.attribute(segment(speech((2, 4.0)), start_s=4.0))
    assert rep.role == Role.REP
    assert (customer.speaker_id, customer.role) == ("spk1", Role.CUSTOMER)


def test_local_labels_that_change_between_windows_still_map_to_the_same_voices() -> None:
    a = attributor(voiceprint=VOICES[1])
    first = a.attribute(segment(speech((2, 2.0), (1, 2.0))))  # customer is local 0, rep local 1
    later = a.attribute(segment(speech((1, 2.0), (2, 2.0)), start_s=20.0))  # a new window: rep is local 0
    assert [t.speaker_id for t in first] == ["spk1", "rep"]
    assert [t.speaker_id for t in later] == ["rep", "spk1"]


def test_without_enrollment_the_most_talkative_is_the_rep_with_capped_confidence() -> None:
    a = attributor()
    a.attribute(segment(speech((2, 2.4))))
    turns = a.attribute(segment(speech((1, 6.0)), start_s=3.0))
    assert turns[0].role == Role.REP
    assert turns[0].confidence <= VoiceSettings().unenrolled_confidence_cap


def test_a_backchannel_with_nothing_to_go_on_goes_by_turn_taking_with_low_confidence() -> None:
    embedder = LevelEmbedder()
    a = attributor(embedder, voiceprint=VOICES[1])
    a.attribute(segment(speech((2, 2.4))))  # the customer speaks
    a.attribute(segment(speech((1, 4.8)), start_s=3.0))  # the rep answers at length
    calls = embedder.calls
    (turn,) = a.attribute(segment(speech((2, 0.3)), start_s=30.0))  # "mm-hm", long after: no context
    assert embedder.calls == calls  # too short to embed
    assert turn.speaker_id == "spk1" and not turn.embedded
    assert turn.confidence == AttributionSettings().short_piece_confidence


def test_confidence_falls_when_a_voice_sits_between_two_known_ones() -> None:
    a = attributor(LevelEmbedder(noise=0.0), voiceprint=VOICES[1])
    a.attribute(segment(speech((2, 2.4))))
    (clear,) = a.attribute(segment(speech((1, 2.4)), start_s=20.0))
    blend = (VOICES[1] + VOICES[2]) / np.linalg.norm(VOICES[1] + VOICES[2])

    class Blend(LevelEmbedder):
        def embed(self, samples: np.ndarray, rate_hz: int = RATE) -> np.ndarray:
            return blend

    a._embedder = Blend()
    (unsure,) = a.attribute(segment(speech((1, 2.4)), start_s=40.0))
    assert clear.confidence > 0.95
    assert unsure.confidence < 0.7


def test_a_segment_cut_at_a_change_does_not_go_to_the_speaker_it_changed_from() -> None:
    """A voice between the rep's and the customer's, a little nearer the rep's: after a rep turn, in a
    segment the segmenter cut at a speaker change, it is the customer."""
    a = attributor(LevelEmbedder(noise=0.0), voiceprint=VOICES[1])
    a.attribute(segment(speech((2, 2.4))))
    a.attribute(segment(speech((1, 2.4)), start_s=20.0))
    near_rep = VOICES[1] * 0.55 + VOICES[2] * 0.45
    near_rep /= np.linalg.norm(near_rep)

    class NearRep(LevelEmbedder):
        def embed(self, samples: np.ndarray, rate_hz: int = RATE) -> np.ndarray:
            return near_rep

    a._embedder = NearRep()
    cut = SpeechSegment(speech((2, 2.0)), RATE, 22.4, 24.4, 0, starts_at_change=True)
    (turn,) = a.attribute(cut)
    assert turn.role == Role.CUSTOMER


def test_audio_heard_after_a_piece_tells_who_is_who_but_is_not_its_voice() -> None:
    a = attributor(voiceprint=VOICES[1])
    piece = SpeechSegment(speech((1, 1.0)), RATE, 0.0, 1.0, 0, lookahead=speech((2, 3.0)))
    (turn,) = a.attribute(piece)
    assert (turn.speaker_id, turn.start_s, turn.end_s) == ("rep", 0.0, 1.0)
    assert a.voices.get("rep").talk_s == pytest.approx(1.0)


def test_a_turn_that_starts_over_the_other_voice_carries_the_overlap() -> None:
    """The customer starts while the rep is still finishing: the segmentation model hears both for half a
    second, and the customer's turn says so (the coach's evidence of a cut-off); a clean change says 0."""

    class RepLingers(LevelActivity):
        def activity(self, samples: np.ndarray) -> SpeakerActivity:
            heard = super().activity(samples)
            probs = heard.probabilities.copy()
            second = np.flatnonzero(probs[:, 1] > 0.5)
            if len(second):
                probs[second[0] : second[0] + round(0.5 / STEP_S), 0] = 0.95  # the rep still talking
            return SpeakerActivity(probs, STEP_S, STEP_S / 2)

    over = SpeakerAttributor(LevelEmbedder(), RepLingers(), voiceprint=VOICES[1])  # type: ignore[arg-type]
    rep, customer, lingering = over.attribute(segment(speech((1, 3.0), (2, 3.0))))
    assert customer.overlap_s == pytest.approx(0.5, abs=3 * STEP_S) and rep.overlap_s == 0.0
    assert (lingering.speaker_id, lingering.cross_talk) == ("spk1", True)  # her first words, under his last
    clean = attributor(voiceprint=VOICES[1])
    assert [t.overlap_s for t in clean.attribute(segment(speech((1, 3.0), (2, 3.0))))] == [0.0, 0.0]


class Backchannel(LevelActivity):
    """The customer (voice level 2) says "mm-hmm" for ``seconds`` in the middle of each window's last turn
    without taking the floor: the model hears a second local speaker there, under the first."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def activity(self, samples: np.ndarray) -> SpeakerActivity:
        heard = super().activity(samples)
        probs = heard.probabilities.copy()
        middle, half = len(probs) - round(1.5 / STEP_S), round(self.seconds / STEP_S / 2)
        free = next(k for k in range(3) if not (probs[:, k] > 0.5).any())
        probs[middle - half : middle + half, free] = 0.9
        return SpeakerActivity(probs, STEP_S, STEP_S / 2)


def test_a_backchannel_under_a_turn_is_cross_talk_of_the_other_voice_with_no_audio() -> None:
    a = SpeakerAttributor(LevelEmbedder(), LevelActivity(), voiceprint=VOICES[1])  # type: ignore[arg-type]
    a.attribute(segment(speech((2, 3.0))))  # the customer, heard first
    a._model = Backchannel(0.4)
    rep, mm_hmm = a.attribute(segment(speech((1, 4.0)), start_s=3.5))
    assert (rep.speaker_id, rep.cross_talk) == ("rep", False)
    assert (mm_hmm.speaker_id, mm_hmm.role, mm_hmm.cross_talk) == ("spk1", Role.CUSTOMER, True)
    assert mm_hmm.end_s - mm_hmm.start_s == pytest.approx(0.4, abs=2 * STEP_S)
    assert rep.start_s < mm_hmm.start_s < mm_hmm.end_s < rep.end_s and len(mm_hmm.samples) == 0
    assert mm_hmm.confidence == AttributionSettings().cross_talk_confidence
    # Too short to be anyone's words (a breath, a flicker of the model), and a turn no one talks under: none.
    a._model = Backchannel(0.1)
    assert [t.cross_talk for t in a.attribute(segment(speech((1, 4.0)), start_s=8.0))] == [False]
    a._model = LevelActivity()
    assert [t.cross_talk for t in a.attribute(segment(speech((1, 4.0)), start_s=13.0))] == [False]


def test_a_voice_that_sounds_like_the_rep_in_print_and_in_the_room_is_merged_into_the_rep() -> None:
    """A noisy embedding opens a voice for the rep heard from across the room; once its own speech says it
    is the rep (near the voiceprint, and nearer still to the rep as heard here), it is the rep, by any id."""
    book = VoiceBook(VOICES[1], "joe", VoiceSettings())
    rep = book.rep
    assert rep is not None
    book.learn(rep, VOICES[1], 5.0, 5.0)
    customer = book.new_voice()
    book.learn(customer, VOICES[2], 5.0, 5.0)
    far_rep = book.new_voice()
    across_the_room = unit(VOICES[1] * 0.9 + VOICES[3] * 0.3)  # about 0.95 to the rep
    book.learn(far_rep, across_the_room, 1.0, 1.0)
    assert far_rep in book.others  # one second of speech says too little
    book.learn(far_rep, across_the_room, 1.5, 1.5)
    assert book.others == [customer] and book.get(far_rep.id) is rep
    assert book.role_of(far_rep.id) == (Role.REP, 1.0) and book.resolve(far_rep.id) == "joe"
    assert rep.talk_s == pytest.approx(7.5)
    assert book.new_voice().id == "spk3"  # ids are not reused: "spk2" still names the rep
    assert book.role_of(customer.id)[0] == Role.CUSTOMER
    # Before the rep has been heard in this room, sounding like the voiceprint alone merges no one.
    early = VoiceBook(VOICES[1], "joe", VoiceSettings())
    first = early.new_voice()
    early.learn(first, across_the_room, 3.0, 3.0)
    assert early.others == [first]
