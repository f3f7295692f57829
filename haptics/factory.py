"""Which watch link a call gets: the paired watch over bleak, or the console when it cannot be used.

A call starts with one connection attempt to the paired watch. If there is no watch paired, bleak is
missing, Bluetooth is off or absent, the address does not answer, or the device offers no service we
can drive, the nudges go to the console instead and ``fallback_reason`` says why (the CLI prints it):
the rep is still coached and nothing crashes. Once connected, drops during the call are the delivery's
business (``delivery``): it reconnects with backoff. bleak is imported only when a watch is paired.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import IO

from haptics.console_link import ConsoleWatchLink
from haptics.errors import WatchError, WatchTimeout
from haptics.link import WatchLink
from haptics.paired import PairedWatch


@dataclass(frozen=True)
class LinkChoice:
    link: WatchLink
    fallback_reason: str | None
    """Why the console stands in for the watch, or None when the watch is connected."""


async def open_watch_link(
    paired: PairedWatch | None, console: IO[str] | None = None, connect_timeout_s: float = 10.0
) -> LinkChoice:
    if paired is None:
        return _console(console, "no watch paired (ridealong watch pair ADDRESS)")
    from haptics.bleak_link import BleakLinkSettings, BleakWatchLink

    link = BleakWatchLink(BleakLinkSettings(paired.address, paired.adapter, paired.profile))
    try:
        await asyncio.wait_for(link.connect(), connect_timeout_s)
    except TimeoutError:
        return _console(console, str(WatchTimeout(f"{paired.address} did not connect in {connect_timeout_s:.0f} s")))
    except WatchError as exc:
        return _console(console, str(exc))
    return LinkChoice(link, None)


def _console(console: IO[str] | None, reason: str) -> LinkChoice:
    return LinkChoice(ConsoleWatchLink(console, reason=reason.splitlines()[0]), reason)
