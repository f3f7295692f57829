"""Device profiles: how a pattern becomes a GATT write on a given kind of watch.

Chosen per watch from the services it offers, best first:

- ``ridealong``: our own service, for the companion watch app; plays the pattern's exact pulses.
  Service ``5f3a0001-7c1e-4d2b-9a86-52e1d7a0b3c4``, pattern characteristic
  ``5f3a0002-7c1e-4d2b-9a86-52e1d7a0b3c4`` (write with response, so a send is acknowledged).
  Payload (little-endian): ``u8 version=1, u8 alert level, u8 n pulses (1-8), n x (u16 vibrate ms,
  u16 pause ms), then the text as UTF-8`` (0-18 bytes, for a watch with a screen).
- ``alert-notification``: the standard Alert Notification service (0x1811), New Alert (0x2A46):
  ``u8 category (0 = simple alert), u8 count of new alerts (1), text`` (UTF-8, at most 18 bytes).
  The watch buzzes its own way and shows the text ("PRICE CONCERN").
- ``immediate-alert``: the standard Immediate Alert service (0x1802), Alert Level (0x2A06): one byte,
  1 mild or 2 high. Only two distinguishable buzzes, so the level says how urgent, not which moment.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from haptics.errors import WatchUnsupported
from haptics.patterns import HapticPattern


def _sig(short: int) -> str:
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


RIDEALONG_SERVICE = "5f3a0001-7c1e-4d2b-9a86-52e1d7a0b3c4"
RIDEALONG_PATTERN_CHAR = "5f3a0002-7c1e-4d2b-9a86-52e1d7a0b3c4"
ALERT_NOTIFICATION_SERVICE = _sig(0x1811)
NEW_ALERT_CHAR = _sig(0x2A46)
IMMEDIATE_ALERT_SERVICE = _sig(0x1802)
ALERT_LEVEL_CHAR = _sig(0x2A06)

PATTERN_FORMAT_VERSION = 1
MAX_PULSES = 8
MAX_TEXT_BYTES = 18
SIMPLE_ALERT_CATEGORY = 0


class Profile(StrEnum):
    RIDEALONG = "ridealong"
    ALERT_NOTIFICATION = "alert-notification"
    IMMEDIATE_ALERT = "immediate-alert"


@dataclass(frozen=True)
class ProfileSpec:
    profile: Profile
    service_uuid: str
    char_uuid: str


PROFILES: tuple[ProfileSpec, ...] = (
    ProfileSpec(Profile.RIDEALONG, RIDEALONG_SERVICE, RIDEALONG_PATTERN_CHAR),
    ProfileSpec(Profile.ALERT_NOTIFICATION, ALERT_NOTIFICATION_SERVICE, NEW_ALERT_CHAR),
    ProfileSpec(Profile.IMMEDIATE_ALERT, IMMEDIATE_ALERT_SERVICE, ALERT_LEVEL_CHAR),
)
"""Best first: the first one a watch offers is the one used."""

SUPPORTED_SERVICES = frozenset(p.service_uuid for p in PROFILES)


def spec(profile: Profile) -> ProfileSpec:
    return next(p for p in PROFILES if p.profile == profile)


def choose(service_uuids: Iterable[str], wanted: Profile | None = None) -> ProfileSpec:
    """The best profile among the services a watch offers (or ``wanted``, if it offers that one)."""
    offered = {u.lower() for u in service_uuids}
    candidates = [p for p in PROFILES if p.service_uuid in offered]
    if wanted is not None:
        candidates = [p for p in candidates if p.profile == wanted]
    if not candidates:
        need = wanted.value if wanted else ", ".join(p.profile.value for p in PROFILES)
        raise WatchUnsupported(
            f"the device offers none of the services a watch link can drive ({need})",
            "pair a watch with Immediate Alert (0x1802), Alert Notification (0x1811) or the Ridealong app",
        )
    return candidates[0]


def _text(pattern: HapticPattern) -> bytes:
    return pattern.text.encode("utf-8")[:MAX_TEXT_BYTES]


def encode(profile: Profile, pattern: HapticPattern) -> bytes:
    """The bytes written to the profile's characteristic to play ``pattern``."""
    if profile == Profile.IMMEDIATE_ALERT:
        return bytes([pattern.alert_level])
    if profile == Profile.ALERT_NOTIFICATION:
        return bytes([SIMPLE_ALERT_CATEGORY, 1]) + _text(pattern)
    pulses = pattern.pulses_ms[:MAX_PULSES]
    head = struct.pack("<BBB", PATTERN_FORMAT_VERSION, pattern.alert_level, len(pulses))
    body = b"".join(struct.pack("<HH", on, off) for on, off in pulses)
    return head + body + _text(pattern)


def decode_ridealong(data: bytes) -> tuple[int, tuple[tuple[int, int], ...], str]:
    """(alert level, pulses, text) from a Ridealong pattern payload: what the companion app parses."""
    version, level, count = struct.unpack_from("<BBB", data)
    if version != PATTERN_FORMAT_VERSION:
        raise ValueError(f"pattern format version {version}, expected {PATTERN_FORMAT_VERSION}")
    pulses = tuple(struct.unpack_from("<HH", data, 3 + 4 * i) for i in range(count))
    return level, pulses, data[3 + 4 * count :].decode("utf-8")
