"""BlueZoo (a mock of BlueZ's D-Bus API) on a private D-Bus: Bluetooth LE with the real bleak, no radio.

The kernel here has no Bluetooth, so BlueZ itself cannot run. BlueZoo answers the same D-Bus calls
BlueZ does; with two adapters on one bus, a fake watch advertises on hci0 and bleak on hci1 finds it,
connects and writes through the very code paths it uses against a real BlueZ.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WATCH_ADAPTER = ("hci0", "00:11:22:33:44:55")
PHONE_ADAPTER = ("hci1", "00:AA:BB:CC:DD:EE")


class BlueZooMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class BlueZoo:
    bus_address: str
    watch_adapter: str = WATCH_ADAPTER[0]
    watch_address: str = WATCH_ADAPTER[1]
    phone_adapter: str = PHONE_ADAPTER[0]
    phone_address: str = PHONE_ADAPTER[1]


def _bluezoo_command() -> list[str]:
    exe = Path(sys.executable).with_name("bluezoo")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("bluezoo")
    if found is None:
        raise BlueZooMissing("bluezoo is not installed: pip install 'ridealong[ble-test]' (or run scripts/setup.sh)")
    return [found]


@contextmanager
def running_bluezoo(workdir: Path, scan_interval_s: int = 1) -> Iterator[BlueZoo]:
    """A private bus with BlueZoo on it, and two powered adapters; stopped (both processes) on exit."""
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        raise BlueZooMissing("dbus-daemon is missing: apt-get install dbus-daemon (or run scripts/setup.sh as root)")
    workdir.mkdir(parents=True, exist_ok=True)
    socket = workdir / "bus.sock"
    address = f"unix:path={socket}"
    bus = subprocess.Popen(
        [daemon, "--session", f"--address={address}", "--nofork", "--nopidfile"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    zoo: subprocess.Popen[bytes] | None = None
    log = (workdir / "bluezoo.log").open("wb")
    try:
        _wait_for(socket.exists, 5.0, "dbus-daemon did not open its socket")
        env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": address}
        zoo = subprocess.Popen(
            [
                *_bluezoo_command(),
                "--auto-enable",
                "--scan-interval",
                str(scan_interval_s),
                "-a",
                WATCH_ADAPTER[1],
                "-a",
                PHONE_ADAPTER[1],
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _wait_for(lambda: _has_adapters(address), 10.0, "bluezoo did not publish its adapters")
        yield BlueZoo(address)
    finally:
        for proc in (zoo, bus):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
        log.close()


def _has_adapters(address: str) -> bool:
    gdbus = shutil.which("dbus-send")
    if gdbus is None:
        raise BlueZooMissing("dbus-send is missing: apt-get install dbus-bin")
    out = subprocess.run(
        [
            gdbus,
            f"--bus={address}",
            "--print-reply",
            "--dest=org.bluez",
            "/",
            "org.freedesktop.DBus.ObjectManager.GetManagedObjects",
        ],
        capture_output=True,
        text=True,
    )
    return out.returncode == 0 and "/org/bluez/hci1" in out.stdout and "/org/bluez/hci0" in out.stdout


def _wait_for(ready: object, timeout_s: float, message: str) -> None:
    assert callable(ready)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.05)
    raise BlueZooMissing(message)


async def bluez_call(path: str, interface: str, member: str, signature: str, body: list[Any]) -> None:
    """One BlueZ D-Bus call on a connection of its own (the test acting as the radio or the user)."""
    from dbus_fast import BusType, Message, MessageType
    from dbus_fast.aio import MessageBus

    bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    try:
        message = Message(
            destination="org.bluez", path=path, interface=interface, member=member, signature=signature, body=body
        )
        reply = await bus.call(message)
        assert reply is not None and reply.message_type != MessageType.ERROR, reply
    finally:
        bus.disconnect()


async def set_powered(zoo: BlueZoo, adapter: str, powered: bool) -> None:
    """Turn an adapter on or off, as ``bluetoothctl power on|off`` does."""
    from dbus_fast import Variant

    await bluez_call(
        f"/org/bluez/{adapter}", "org.freedesktop.DBus.Properties", "Set", "ssv",
        ["org.bluez.Adapter1", "Powered", Variant("b", powered)],
    )  # fmt: skip


async def link_lost(zoo: BlueZoo) -> None:
    """The radio link to the watch is lost and BlueZ forgets the device, as it does for a device that went
    out of range: the phone sees a disconnect, and finds the watch again only when it advertises again.

    (BlueZoo keeps a vanished peripheral's GATT objects and lets a connect to it succeed; removing the
    device on the phone's adapter is what makes "out of range" behave as it does with a real BlueZ.)"""
    device = f"/org/bluez/{zoo.phone_adapter}/dev_{zoo.watch_address.replace(':', '_')}"
    await bluez_call(f"/org/bluez/{zoo.phone_adapter}", "org.bluez.Adapter1", "RemoveDevice", "o", [device])
