import numpy as np

from scripts.corpus.timeline import Placed, speech_spans
from scripts.corpus.voices import RATE_HZ


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE_HZ), np.float32)


def test_pauses_of_0_3_s_or_more_split_the_reference_span_and_shorter_ones_are_bridged() -> None:
    clip = np.concatenate([_tone(1.0), _silence(0.5), _tone(0.8), _silence(0.2), _tone(0.6)])
    placed = Placed("u1", "s1", 10.0, 10.0 + len(clip) / RATE_HZ)

    assert speech_spans(placed, clip) == [(10.0, 11.0), (11.5, 13.1)]


def test_a_clip_without_pauses_keeps_its_placed_span() -> None:
    clip = _tone(1.234)
    placed = Placed("u1", "s1", 2.0, 3.234)

    assert speech_spans(placed, clip) == [(2.0, 3.234)]
    assert speech_spans(Placed("u2", "s1", 5.0, 5.0), clip[:0]) == [(5.0, 5.0)]
