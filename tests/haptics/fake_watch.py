"""A fake watch peripheral on BlueZoo: registers GATT services and an advertisement through BlueZ's
standard D-Bus API (the way a Linux peripheral app does), and records every write it receives.

It runs on its own D-Bus connection on adapter hci0, so the real ``bleak`` on hci1 sees a watch in
range: it scans it, connects, resolves its services and writes to them. ``leave`` drops the link and
vanishes (out of range); ``start`` again brings it back.
"""

# No ``from __future__ import annotations``: dbus-fast reads the D-Bus signatures from the annotations.
import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from dbus_fast import BusType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method

BLUEZ = "org.bluez"
APP_PATH = "/com/ridealong/fakewatch"
ADV_PATH = "/com/ridealong/fakewatch/adv0"
AGENT_PATH = "/com/ridealong/fakewatch/agent"


@dataclass(frozen=True)
class Write:
    char_uuid: str
    value: bytes
    options: dict[str, Any]
    t_mono_ns: int
    """When the watch's handler ran (CLOCK_MONOTONIC, comparable with the sender's clock)."""


@dataclass(frozen=True)
class FakeChar:
    uuid: str
    flags: tuple[str, ...]


@dataclass(frozen=True)
class FakeService:
    uuid: str
    chars: tuple[FakeChar, ...]


@dataclass
class _Received:
    writes: list[Write] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


class _Service(ServiceInterface):
    def __init__(self, uuid: str) -> None:
        super().__init__("org.bluez.GattService1")
        self._uuid = uuid

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":
        return self._uuid

    @dbus_property(access=PropertyAccess.READ)
    def Primary(self) -> "b":
        return True


class _Characteristic(ServiceInterface):
    def __init__(self, uuid: str, service_path: str, flags: tuple[str, ...], received: _Received) -> None:
        super().__init__("org.bluez.GattCharacteristic1")
        self._uuid = uuid
        self._service_path = service_path
        self._flags = list(flags)
        self._received = received

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":
        return self._uuid

    @dbus_property(access=PropertyAccess.READ)
    def Service(self) -> "o":
        return self._service_path

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> "as":
        return self._flags

    @method()
    def ReadValue(self, options: "a{sv}") -> "ay":
        return b""

    @method()
    def WriteValue(self, value: "ay", options: "a{sv}") -> None:
        plain = {k: v.value if isinstance(v, Variant) else v for k, v in options.items()}
        self._received.writes.append(Write(self._uuid, bytes(value), plain, time.monotonic_ns()))
        self._received.arrived.set()


class _Advertisement(ServiceInterface):
    def __init__(self, name: str, service_uuids: list[str]) -> None:
        super().__init__("org.bluez.LEAdvertisement1")
        self._name = name
        self._uuids = service_uuids

    @method()
    def Release(self) -> None:
        pass

    @dbus_property(access=PropertyAccess.READ)
    def Type(self) -> "s":
        return "peripheral"

    @dbus_property(access=PropertyAccess.READ)
    def ServiceUUIDs(self) -> "as":
        return self._uuids

    @dbus_property(access=PropertyAccess.READ)
    def LocalName(self) -> "s":
        return self._name

    @dbus_property(access=PropertyAccess.READ)
    def Discoverable(self) -> "b":
        return True


class _JustWorksAgent(ServiceInterface):
    """A watch has no screen or buttons for a passkey: it accepts pairing as it comes."""

    def __init__(self) -> None:
        super().__init__("org.bluez.Agent1")

    @method()
    def Release(self) -> None:
        pass

    @method()
    def RequestAuthorization(self, device: "o") -> None:
        pass

    @method()
    def AuthorizeService(self, device: "o", uuid: "s") -> None:
        pass

    @method()
    def Cancel(self) -> None:
        pass


class FakeWatch:
    def __init__(self, name: str, services: tuple[FakeService, ...], adapter: str = "hci0") -> None:
        self.name = name
        self.services = services
        self.adapter_path = f"/org/bluez/{adapter}"
        self._received = _Received()
        self._bus: MessageBus | None = None

    @property
    def writes(self) -> list[Write]:
        return self._received.writes

    async def start(self) -> None:
        bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        for s_index, service in enumerate(self.services):
            s_path = f"{APP_PATH}/service{s_index}"
            bus.export(s_path, _Service(service.uuid))
            for c_index, char in enumerate(service.chars):
                bus.export(f"{s_path}/char{c_index}", _Characteristic(char.uuid, s_path, char.flags, self._received))
        bus.export(ADV_PATH, _Advertisement(self.name, [s.uuid for s in self.services]))
        bus.export(AGENT_PATH, _JustWorksAgent())
        agent = [AGENT_PATH, "NoInputNoOutput"]
        await _call(bus, "/org/bluez", "org.bluez.AgentManager1", "RegisterAgent", "os", agent)
        await _call(bus, self.adapter_path, "org.bluez.GattManager1", "RegisterApplication", "oa{sv}", [APP_PATH, {}])
        await _call(
            bus, self.adapter_path, "org.bluez.LEAdvertisingManager1", "RegisterAdvertisement", "oa{sv}", [ADV_PATH, {}]
        )
        self._bus = bus

    async def drop_link(self, phone_address: str) -> None:
        """The link drops from the watch's side (out of range): the phone sees a disconnect."""
        assert self._bus is not None
        path = f"{self.adapter_path}/dev_{phone_address.replace(':', '_')}"
        await _call(self._bus, path, "org.bluez.Device1", "Disconnect", "", [])

    async def leave(self, phone_address: str | None = None) -> None:
        """Out of range: the link drops and the watch's services and advertisement are gone until ``start``."""
        if self._bus is None:
            return
        if phone_address is not None:
            with contextlib.suppress(RuntimeError):  # was not connected
                await self.drop_link(phone_address)
        self._bus.disconnect()
        await self._bus.wait_for_disconnect()
        self._bus = None

    async def wait_for_writes(self, count: int, timeout_s: float = 5.0) -> list[Write]:
        async with asyncio.timeout(timeout_s):
            while len(self._received.writes) < count:
                self._received.arrived.clear()
                await self._received.arrived.wait()
        return self._received.writes


async def _call(bus: MessageBus, path: str, interface: str, member: str, signature: str, body: list[Any]) -> Any:
    from dbus_fast import Message, MessageType

    reply = await bus.call(
        Message(destination=BLUEZ, path=path, interface=interface, member=member, signature=signature, body=body)
    )
    assert reply is not None
    if reply.message_type == MessageType.ERROR:
        raise RuntimeError(f"{interface}.{member} on {path}: {reply.error_name} {reply.body}")
    return reply.body


def main() -> None:
    """Run a fake watch as its own process (for the benchmark): every write as a JSON line in ``--log``."""
    import argparse
    import json
    import signal
    from pathlib import Path

    from haptics.profiles import Profile
    from tests.haptics.conftest import WATCH_SERVICES

    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", choices=[p.value for p in Profile], required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--name", default="PineTime")
    args = parser.parse_args()

    async def run() -> None:
        watch = FakeWatch(args.name, (WATCH_SERVICES[Profile(args.profile)],))
        await watch.start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        with args.log.open("w") as log:
            print("ready", flush=True)
            seen = 0
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(watch._received.arrived.wait(), 0.2)
                watch._received.arrived.clear()
                for w in watch.writes[seen:]:
                    log.write(json.dumps({"value": w.value.hex(), "t_mono_ns": w.t_mono_ns}) + "\n")
                seen = len(watch.writes)
                log.flush()
        await watch.leave()

    asyncio.run(run())


if __name__ == "__main__":
    main()
