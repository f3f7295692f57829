"""The rolling window: a pure reducer, and the publisher that feeds subscribers."""

from __future__ import annotations

import pytest

from edge.frames import CallEnded, Role, Utterance
from edge.window import RollingWindow, WindowSettings, WindowState, reduce


def utt(n: int, start_s: float, end_s: float, role: Role = Role.REP) -> Utterance:
    return Utterance(f"u{n}", "c", "rep", role, start_s, end_s, "text", 1.0, 1.0)


def test_reduce_is_pure_ordered_and_forgets_past_the_horizon() -> None:
    settings = WindowSettings(horizon_s=60.0)
    empty = WindowState()
    one = reduce(empty, utt(1, 0.0, 5.0), settings)
    assert empty.utterances == ()  # the old state is untouched
    two = reduce(one, utt(3, 20.0, 25.0, Role.CUSTOMER), settings)
    three = reduce(two, utt(2, 10.0, 12.0), settings)  # arrives late, sorts into place
    assert [u.id for u in three.utterances] == ["u1", "u2", "u3"]
    assert three.talk_s("rep") == 7.0 and three.talk_s("customer") == 5.0
    later = reduce(three, utt(4, 70.0, 80.0), settings)
    assert [u.id for u in later.utterances] == ["u3", "u4"]  # u1, u2 ended before 80 - 60


def test_subscribers_see_each_utterance_then_the_end_and_nothing_after() -> None:
    window = RollingWindow()
    seen: list[str] = []
    window.subscribe(lambda event, state: seen.append(f"{type(event).__name__}:{len(state.utterances)}"))
    window.publish(utt(1, 0.0, 1.0))
    window.publish(utt(2, 1.0, 2.0))
    window.flush(CallEnded("c", 2.0, 0))
    assert seen == ["Utterance:1", "Utterance:2", "CallEnded:2"]
    with pytest.raises(ValueError, match="ended"):
        window.publish(utt(3, 3.0, 4.0))
