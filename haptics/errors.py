"""Typed watch errors: each says what went wrong and what to do about it."""

from __future__ import annotations


class WatchError(Exception):
    """Base of every watch error; ``hint`` is the next step for the user."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(f"{message}\n  fix: {hint}" if hint else message)
        self.message = message
        self.hint = hint


class WatchUnavailable(WatchError):
    """No Bluetooth to talk over: the adapter is off or absent, BlueZ is not running, or bleak is not
    installed."""


class WatchNotFound(WatchError):
    """No watch with that address answered (out of range, asleep, or a typo)."""


class WatchUnsupported(WatchError):
    """The device answered but offers none of the services a watch link can drive."""


class WatchGattError(WatchError):
    """A GATT operation failed on a connected watch."""


class WatchTimeout(WatchError):
    """The watch did not answer in time."""
