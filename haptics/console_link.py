"""The console link: the nudge as a line in the terminal (and a bell), when no watch is paired."""

from __future__ import annotations

import asyncio
import sys
from typing import IO

from haptics.link import LinkState
from haptics.patterns import HapticPattern


def render(pattern: HapticPattern) -> str:
    """The pulses as marks: a short pulse is ``•``, a long one ``▬`` ("• ▬" is short-long)."""
    marks = " ".join("•" if on < 200 else "▬" for on, _ in pattern.pulses_ms)
    return f"[wrist] {marks:<12} {pattern.text}: {pattern.meaning}"


class ConsoleWatchLink:
    def __init__(self, stream: IO[str] | None = None, bell: bool = False, reason: str = "") -> None:
        self._stream = stream
        self._bell = bell
        self.reason = reason
        """Why the console stands in for a watch ("no watch paired", "Bluetooth is off")."""
        self._state = LinkState.DISCONNECTED
        self._closed = asyncio.Event()

    @property
    def name(self) -> str:
        return "console" + (f" ({self.reason})" if self.reason else "")

    @property
    def state(self) -> LinkState:
        return self._state

    async def connect(self) -> None:
        self._state = LinkState.CONNECTED
        self._closed.clear()

    async def send(self, pattern: HapticPattern) -> None:
        stream = self._stream or sys.stdout
        stream.write(("\a" if self._bell else "") + render(pattern) + "\n")
        stream.flush()

    async def wait_disconnected(self) -> None:
        if self._state == LinkState.CONNECTED:
            await self._closed.wait()

    async def disconnect(self) -> None:
        self._state = LinkState.DISCONNECTED
        self._closed.set()
