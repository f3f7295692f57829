"""The ``WatchLink`` protocol every backend implements (bleak, console, the recording fake)."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from haptics.patterns import HapticPattern


class LinkState(StrEnum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"


class WatchLink(Protocol):
    @property
    def name(self) -> str:
        """What the link talks to, for logs and ``watch status`` ("PineTime 00:11:22:33:44:55 (immediate-alert)")."""
        ...

    @property
    def state(self) -> LinkState: ...

    async def connect(self) -> None:
        """Connect (a no-op when connected); raises a ``WatchError`` subclass."""
        ...

    async def send(self, pattern: HapticPattern) -> None:
        """Play ``pattern`` on the wrist; returns once the watch has it (or the write left, for writes
        without response). Raises a ``WatchError`` subclass; never retries by itself."""
        ...

    async def wait_disconnected(self) -> None:
        """Returns when the link drops (at once if it is not connected)."""
        ...

    async def disconnect(self) -> None: ...
