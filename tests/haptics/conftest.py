"""BlueZoo on a private D-Bus for the BLE tests, and the three kinds of fake watch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from haptics.profiles import (
    ALERT_LEVEL_CHAR,
    ALERT_NOTIFICATION_SERVICE,
    IMMEDIATE_ALERT_SERVICE,
    NEW_ALERT_CHAR,
    RIDEALONG_PATTERN_CHAR,
    RIDEALONG_SERVICE,
    Profile,
)
from tests.conftest import IN_CI
from tests.haptics.bluezoo import BlueZoo, BlueZooMissing, running_bluezoo
from tests.haptics.fake_watch import FakeChar, FakeService

# What each kind of watch registers: InfiniTime takes Alert Level writes without response only; its
# New Alert takes acknowledged writes; the companion app's pattern characteristic acknowledges too.
WATCH_SERVICES: dict[Profile, FakeService] = {
    Profile.IMMEDIATE_ALERT: FakeService(
        IMMEDIATE_ALERT_SERVICE, (FakeChar(ALERT_LEVEL_CHAR, ("write-without-response",)),)
    ),
    Profile.ALERT_NOTIFICATION: FakeService(ALERT_NOTIFICATION_SERVICE, (FakeChar(NEW_ALERT_CHAR, ("write",)),)),
    Profile.RIDEALONG: FakeService(RIDEALONG_SERVICE, (FakeChar(RIDEALONG_PATTERN_CHAR, ("write",)),)),
}


@pytest.fixture
def bluezoo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BlueZoo]:
    """BlueZoo with a watch adapter (hci0) and a phone adapter (hci1); bleak in this process talks to it."""
    try:
        with running_bluezoo(tmp_path) as zoo:
            monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", zoo.bus_address)
            yield zoo
    except BlueZooMissing as exc:
        if IN_CI:
            pytest.fail(f"BLE tests need BlueZoo in CI: {exc}")
        pytest.skip(str(exc))
