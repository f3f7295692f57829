"""The rolling conversation window: a pure reducer over utterances, and a publisher around it.

``reduce`` is a pure function (state, utterance) → state, so the live coach's view of the call can
be rebuilt from the stored utterances and tested without any audio. ``RollingWindow`` holds the
state and hands every new utterance, and the end of the call (the explicit flush), to subscribers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from edge.frames import CallEnded, Utterance


@dataclass(frozen=True)
class WindowSettings:
    horizon_s: float = 300.0
    """How much of the conversation (seconds of audio before the newest utterance) the window keeps."""


@dataclass(frozen=True)
class WindowState:
    utterances: tuple[Utterance, ...] = ()
    ended: bool = False

    def talk_s(self, role: str) -> float:
        return sum(u.end_s - u.start_s for u in self.utterances if u.role == role)


def reduce(state: WindowState, utterance: Utterance, settings: WindowSettings) -> WindowState:
    """The window after ``utterance``: kept in start order, older than the horizon dropped."""
    if state.ended:
        raise ValueError("the call has ended: no utterance can join its window")
    utterances = sorted((*state.utterances, utterance), key=lambda u: (u.start_s, u.id))
    newest_end = max(u.end_s for u in utterances)
    return replace(state, utterances=tuple(u for u in utterances if u.end_s >= newest_end - settings.horizon_s))


Subscriber = Callable[[Utterance | CallEnded, WindowState], None]


class RollingWindow:
    def __init__(self, settings: WindowSettings | None = None) -> None:
        self.settings = settings or WindowSettings()
        self.state = WindowState()
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def publish(self, utterance: Utterance) -> None:
        self.state = reduce(self.state, utterance, self.settings)
        for subscriber in self._subscribers:
            subscriber(utterance, self.state)

    def flush(self, ended: CallEnded) -> None:
        """The call is over: subscribers get a last look at the window."""
        self.state = replace(self.state, ended=True)
        for subscriber in self._subscribers:
            subscriber(ended, self.state)
