"""A recording ``WatchLink`` for unit tests: remembers what it was asked to play, and can be told to
drop, refuse connections or stall, like a watch walking out of range."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from haptics.errors import WatchNotFound, WatchTimeout
from haptics.link import LinkState
from haptics.patterns import HapticPattern


@dataclass(frozen=True)
class Played:
    pattern: HapticPattern
    t_mono_ns: int


class RecordingWatchLink:
    def __init__(self, now_ns: Callable[[], int] = time.monotonic_ns) -> None:
        self.played: list[Played] = []
        self.connects = 0
        self.in_range = True
        """False: connecting fails with ``WatchNotFound``, as for a watch out of range."""
        self.send_delay_s = 0.0
        self.stalled = False
        """True: sends hang until the caller's timeout (a watch that stopped acknowledging)."""
        self._now_ns = now_ns
        self._state = LinkState.DISCONNECTED
        self._dropped = asyncio.Event()

    @property
    def name(self) -> str:
        return "recording fake"

    @property
    def state(self) -> LinkState:
        return self._state

    async def connect(self) -> None:
        self.connects += 1
        if not self.in_range:
            raise WatchNotFound("fake watch out of range")
        self._state = LinkState.CONNECTED
        self._dropped.clear()

    async def send(self, pattern: HapticPattern) -> None:
        if self._state != LinkState.CONNECTED:
            raise WatchNotFound("fake watch not connected")
        if self.stalled:
            await asyncio.Event().wait()
            raise WatchTimeout("unreachable")
        if self.send_delay_s:
            await asyncio.sleep(self.send_delay_s)
        self.played.append(Played(pattern, self._now_ns()))

    def drop(self, in_range: bool = False) -> None:
        """The link drops; the watch stays unreachable until ``in_range`` is set again."""
        self.in_range = in_range
        self._state = LinkState.DISCONNECTED
        self._dropped.set()

    async def wait_disconnected(self) -> None:
        if self._state == LinkState.CONNECTED:
            await self._dropped.wait()

    async def disconnect(self) -> None:
        self._state = LinkState.DISCONNECTED
        self._dropped.set()
