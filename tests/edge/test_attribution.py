"""Speaker attribution on synthetic voices: a fake embedder reads the "voice" from the samples' level.

The real CAM++ path is covered end to end in test_speech_pipeline.py; here each rule is pinned down.
"""

from __future__ import annotations

import numpy as np
import pytest

from edge.attribution import AttributionSettings, SpeakerAttributor
from edge.frames import Role, SpeechSegment

RATE = 16_000
RNG = np.random.default_rng(7)
VOICES = {level: v / np.linalg.norm(v) for level, v in ((lvl, RNG.normal(size=32)) for lvl in (1, 2, 3, 4, 5))}


class LevelEmbedder:
    """Embeds audio as the voice whose level (samples x 10) it carries, plus a little noise."""

    def __init__(self, noise: float = 0.15) -> None:
        self.noise = noise
        self.calls = 0
        self._rng = np.random.default_rng(0)

    def embed(self, samples: np.ndarray, rate_hz: int = RATE) -> np.ndarray:
        self.calls += 1
        level = round(float(np.median(samples)) * 10)
        return VOICES[level] + self._rng.normal(scale=self.noise, size=32)


def speech(*parts: tuple[int, float]) -> np.ndarray:
    """Concatenated stretches of (voice level, seconds)."""
    return np.concatenate([np.full(int(seconds * RATE), level / 10, dtype=np.float32) for level, seconds in parts])


def segment(samples: np.ndarray, start_s: float = 0.0) -> SpeechSegment:
    return SpeechSegment(samples, RATE, start_s, start_s + len(samples) / RATE, 0)


def test_a_change_inside_one_segment_is_found_and_cut_near_it() -> None:
    attributor = SpeakerAttributor(LevelEmbedder(), voiceprint=VOICES[1], rep_id="joe")
    turns = attributor.attribute(segment(speech((1, 4.8), (2, 3.6)), start_s=10.0))
    assert [(t.speaker_id, t.role) for t in turns] == [("joe", Role.REP), ("spk1", Role.CUSTOMER)]
    assert turns[0].start_s == 10.0 and turns[1].end_s == pytest.approx(18.4)
    assert abs(turns[0].end_s - 14.8) <= 0.5  # the cut lands within the quiet-search reach of the change
    assert turns[0].end_s == turns[1].start_s


def test_one_noisy_window_does_not_split_a_turn() -> None:
    embedder = LevelEmbedder(noise=0.45)
    attributor = SpeakerAttributor(embedder, voiceprint=VOICES[1])
    turns = attributor.attribute(segment(speech((1, 7.2))))
    assert [t.speaker_id for t in turns] == ["rep"]


def test_speakers_are_recognised_again_across_segments_and_capped() -> None:
    attributor = SpeakerAttributor(LevelEmbedder(), settings=AttributionSettings(max_speakers=3))
    ids = []
    for n, level in enumerate([1, 2, 1, 3, 2, 4, 1]):
        ids += [t.speaker_id for t in attributor.attribute(segment(speech((level, 2.4)), start_s=3.0 * n))]
    assert ids[:5] == ["spk1", "spk2", "spk1", "spk3", "spk2"]
    assert ids[5] in {"spk1", "spk2", "spk3"}  # a fourth voice over the cap goes to a known one
    assert len(set(ids)) == 3


def test_without_enrollment_the_most_talkative_is_the_rep_with_capped_confidence() -> None:
    attributor = SpeakerAttributor(LevelEmbedder())
    attributor.attribute(segment(speech((2, 2.4))))
    turns = attributor.attribute(segment(speech((1, 6.0)), start_s=3.0))
    assert turns[0].role == Role.REP
    assert turns[0].confidence <= AttributionSettings().unenrolled_confidence_cap


def test_a_backchannel_too_short_to_embed_goes_to_the_listener_with_low_confidence() -> None:
    embedder = LevelEmbedder()
    attributor = SpeakerAttributor(embedder, voiceprint=VOICES[1])
    attributor.attribute(segment(speech((2, 2.4))))  # the customer speaks
    attributor.attribute(segment(speech((1, 4.8)), start_s=3.0))  # the rep answers at length
    calls = embedder.calls
    (turn,) = attributor.attribute(segment(speech((2, 0.3)), start_s=8.0))  # "mm-hm"
    assert embedder.calls == calls  # not embedded
    assert turn.speaker_id == "spk1" and not turn.embedded
    assert turn.confidence == AttributionSettings().short_piece_confidence


def test_confidence_falls_when_a_voice_sits_between_two_known_ones() -> None:
    attributor = SpeakerAttributor(LevelEmbedder(noise=0.0), voiceprint=VOICES[1])
    attributor.attribute(segment(speech((2, 2.4))))
    (clear,) = attributor.attribute(segment(speech((1, 2.4)), start_s=3.0))
    blend = (VOICES[1] + VOICES[2]) / 2

    class Blend(LevelEmbedder):
        def embed(self, samples: np.ndarray, rate_hz: int = RATE) -> np.ndarray:
            return blend

    attributor._embedder = Blend()
    (unsure,) = attributor.attribute(segment(speech((1, 2.4)), start_s=6.0))
    assert clear.confidence > 0.95
    assert unsure.confidence < 0.7
