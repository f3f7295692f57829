"""The BLE watch link, over bleak: finds the watch, connects, picks its profile, writes patterns.

bleak (and dbus-fast under it on Linux) is imported only here, when a link is made, so ``import haptics``
costs nothing on a machine without Bluetooth. Every bleak and D-Bus failure leaves as a typed
``WatchError`` that says what to do.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from haptics.errors import WatchError, WatchGattError, WatchNotFound, WatchTimeout, WatchUnavailable
from haptics.link import LinkState
from haptics.patterns import HapticPattern
from haptics.profiles import SUPPORTED_SERVICES, Profile, ProfileSpec, choose, encode

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.characteristic import BleakGATTCharacteristic
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData


@dataclass(frozen=True)
class BleakLinkSettings:
    address: str
    """The watch's Bluetooth address ("00:11:22:33:44:55")."""
    adapter: str | None = None
    """The local adapter on Linux ("hci0"); None: the system default."""
    profile: Profile | None = None
    """Force a profile; None: the best the watch offers (``profiles.PROFILES`` order)."""
    scan_timeout_s: float = 10.0
    """How long to look for a watch BlueZ does not know yet (seconds)."""


@dataclass(frozen=True)
class SeenDevice:
    address: str
    name: str | None
    rssi: int | None
    service_uuids: tuple[str, ...]

    @property
    def supported(self) -> bool:
        return bool(SUPPORTED_SERVICES & {u.lower() for u in self.service_uuids})


def _import_bleak() -> Any:
    try:
        import bleak
    except ImportError as exc:
        raise WatchUnavailable(
            "bleak is not installed, so there is no Bluetooth link", "pip install 'ridealong[ble]'"
        ) from exc
    return bleak


def _bluez_args(adapter: str | None) -> dict[str, Any]:
    return {"bluez": {"adapter": adapter}} if adapter else {}


def translate(exc: BaseException, doing: str) -> WatchError:
    """A bleak / D-Bus / OS failure as the ``WatchError`` it means for the user."""
    if isinstance(exc, WatchError):
        return exc
    from bleak.exc import BleakBluetoothNotAvailableError, BleakDeviceNotFoundError, BleakError

    if isinstance(exc, BleakBluetoothNotAvailableError):
        return WatchUnavailable(
            f"Bluetooth is not available while {doing} ({exc.reason.name.lower()})",
            "turn Bluetooth on (bluetoothctl power on) or plug in an adapter",
        )
    if isinstance(exc, BleakDeviceNotFoundError):
        return WatchNotFound(f"no device answered while {doing}", "wake the watch and keep it within a few metres")
    if isinstance(exc, (FileNotFoundError, ConnectionRefusedError)):
        return WatchUnavailable(
            f"no Bluetooth service on this machine while {doing} ({exc})",
            "start BlueZ (systemctl start bluetooth); without it nudges go to the console",
        )
    if isinstance(exc, TimeoutError):
        return WatchTimeout(f"the watch did not answer in time while {doing}", "bring the watch closer and retry")
    if isinstance(exc, BleakError):
        text = str(exc)
        if "No Bluetooth adapters found" in text or ("adapter" in text.lower() and "not found" in text.lower()):
            return WatchUnavailable(f"no Bluetooth adapter while {doing}: {text}", "plug in or enable an adapter")
        if "not found" in text.lower():
            return WatchNotFound(f"{text} while {doing}", "wake the watch and keep it within a few metres")
        return WatchGattError(f"Bluetooth error while {doing}: {text}", "retry; if it persists, re-pair the watch")
    if isinstance(exc, OSError):
        return WatchUnavailable(f"Bluetooth is not reachable while {doing}: {exc}", "check that BlueZ is running")
    raise exc


async def scan(
    duration_s: float,
    on_seen: Callable[[SeenDevice], None] | None = None,
    adapter: str | None = None,
) -> list[SeenDevice]:
    """Every device heard in ``duration_s``, latest advertisement per address; ``on_seen`` hears each new
    one as it appears (the live list of ``ridealong watch scan``)."""
    bleak = _import_bleak()
    objects = await bluez_objects()
    if objects is not None:
        check_adapter(objects, adapter)
    seen: dict[str, SeenDevice] = {}

    def detected(device: BLEDevice, adv: AdvertisementData) -> None:
        new = device.address not in seen
        seen[device.address] = SeenDevice(
            device.address, adv.local_name or device.name, adv.rssi, tuple(adv.service_uuids)
        )
        if new and on_seen is not None:
            on_seen(seen[device.address])

    try:
        async with bleak.BleakScanner(detected, **_bluez_args(adapter)):
            await asyncio.sleep(duration_s)
    except Exception as exc:
        raise translate(exc, "scanning") from exc
    return list(seen.values())


class BleakWatchLink:
    def __init__(self, settings: BleakLinkSettings) -> None:
        self.settings = settings
        self.profile: ProfileSpec | None = None
        self.device_name: str | None = None
        self._client: BleakClient | None = None
        self._device: BLEDevice | None = None
        self._char: BleakGATTCharacteristic | None = None
        self._with_response = False
        self._state = LinkState.DISCONNECTED
        self._dropped = asyncio.Event()
        self._dropped.set()

    @property
    def name(self) -> str:
        who = f"{self.device_name} {self.settings.address}" if self.device_name else self.settings.address
        return f"{who} ({self.profile.profile.value})" if self.profile else who

    @property
    def state(self) -> LinkState:
        return self._state

    async def connect(self) -> None:
        if self._state == LinkState.CONNECTED:
            return
        await self._release_client()
        bleak = _import_bleak()
        self._state = LinkState.CONNECTING
        try:
            device = self._device or await self._find()
            client = bleak.BleakClient(
                device, disconnected_callback=self._on_disconnected, **_bluez_args(self.settings.adapter)
            )
            await client.connect()
        except Exception as exc:
            self._state = LinkState.DISCONNECTED
            self._device = None  # BlueZ may have forgotten it (out of range too long): look it up afresh next time
            raise translate(exc, f"connecting to {self.settings.address}") from exc
        self._device, self.device_name = device, device.name
        try:
            self._use_services(client)
        except WatchError:
            self._state = LinkState.DISCONNECTED
            await _quietly(client.disconnect())
            raise
        self._client = client
        self._dropped.clear()
        self._state = LinkState.CONNECTED

    def _use_services(self, client: BleakClient) -> None:
        chosen = choose((s.uuid for s in client.services), self.settings.profile)
        char = client.services.get_characteristic(chosen.char_uuid)
        if char is None:
            raise WatchGattError(
                f"the watch offers the {chosen.profile.value} service without its characteristic {chosen.char_uuid}",
                "update the watch's firmware or pair another profile with --profile",
            )
        props = set(char.properties)
        if not props & {"write", "write-without-response"}:
            raise WatchGattError(f"{chosen.char_uuid} on the watch is not writable ({', '.join(sorted(props))})")
        # Acknowledged writes where the watch allows them: "delivered" then means the watch has it.
        self._with_response = "write" in props
        self.profile, self._char = chosen, char

    async def send(self, pattern: HapticPattern) -> None:
        if self._state != LinkState.CONNECTED or self._client is None or self.profile is None or self._char is None:
            raise WatchNotFound(f"not connected to {self.settings.address}", "connect first")
        data = encode(self.profile.profile, pattern)
        try:
            await self._client.write_gatt_char(self._char, data, response=self._with_response)
        except Exception as exc:
            raise translate(exc, f"writing {pattern.name} to {self.settings.address}") from exc

    async def wait_disconnected(self) -> None:
        await self._dropped.wait()

    async def disconnect(self) -> None:
        self._state = LinkState.DISCONNECTED
        self._dropped.set()
        await self._release_client()

    async def _release_client(self) -> None:
        """A client whose link dropped still holds its own D-Bus connection; only its ``disconnect``
        closes that, so it is called even when the watch is already gone."""
        client, self._client = self._client, None
        if client is not None:
            await _quietly(client.disconnect())

    async def pair(self) -> None:
        """Bond with the watch (connects first), for watches that only talk to bonded phones."""
        await self.connect()
        assert self._client is not None
        try:
            await self._client.pair()
        except Exception as exc:
            raise translate(exc, f"pairing with {self.settings.address}") from exc

    def _on_disconnected(self, _client: BleakClient) -> None:
        self._state = LinkState.DISCONNECTED
        self._dropped.set()

    async def _find(self) -> BLEDevice:
        objects = await bluez_objects()
        if objects is not None:
            known = device_in(objects, self.settings.address, check_adapter(objects, self.settings.adapter))
            if known is not None:
                return known
        found: asyncio.Future[BLEDevice] = asyncio.get_running_loop().create_future()
        wanted = self.settings.address.upper()

        def detected(device: BLEDevice, _adv: AdvertisementData) -> None:
            if device.address.upper() == wanted and not found.done():
                found.set_result(device)

        bleak = _import_bleak()
        # A detection callback, registered before the scan starts, hears the very first advertisement;
        # bleak's find_device_by_* helpers can miss a watch that advertises once and then goes quiet.
        async with bleak.BleakScanner(detected, **_bluez_args(self.settings.adapter)):
            try:
                return await asyncio.wait_for(found, self.settings.scan_timeout_s)
            except TimeoutError:
                raise WatchNotFound(
                    f"no watch with address {self.settings.address} advertised in {self.settings.scan_timeout_s:.0f} s",
                    "check the address with `ridealong watch scan`, wake the watch and keep it close",
                ) from None


async def bluez_objects() -> dict[str, dict[str, dict[str, Any]]] | None:
    """BlueZ's object tree (interface properties as plain values), or None off Linux where bleak talks
    to the OS's own stack. Raises ``WatchUnavailable`` when BlueZ does not answer."""
    if not sys.platform.startswith("linux"):
        return None
    from dbus_fast import BusType, Message, MessageType
    from dbus_fast.aio import MessageBus

    try:
        bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
    except (OSError, ValueError) as exc:  # no socket at the bus address, or a malformed address
        raise WatchUnavailable(
            f"no Bluetooth service on this machine: the system bus does not answer ({exc})",
            "start BlueZ (systemctl start bluetooth); without it nudges go to the console",
        ) from exc
    try:
        reply = await bus.call(
            Message(destination="org.bluez", path="/", interface="org.freedesktop.DBus.ObjectManager",
                    member="GetManagedObjects")
        )  # fmt: skip
    finally:
        bus.disconnect()
    if reply is None or reply.message_type == MessageType.ERROR:
        why = reply.error_name if reply is not None else "no reply"
        raise WatchUnavailable(
            f"BlueZ does not answer on the system bus ({why})", "start it: systemctl start bluetooth"
        )
    return {
        path: {iface: {k: v.value for k, v in props.items()} for iface, props in interfaces.items()}
        for path, interfaces in reply.body[0].items()
    }


def check_adapter(objects: dict[str, dict[str, dict[str, Any]]], adapter: str | None) -> str:
    """The adapter's object path, if it exists and is powered; else ``WatchUnavailable`` saying which."""
    adapters = {path: ifs["org.bluez.Adapter1"] for path, ifs in objects.items() if "org.bluez.Adapter1" in ifs}
    if not adapters:
        raise WatchUnavailable("this machine has no Bluetooth adapter", "plug in or enable one")
    path = f"/org/bluez/{adapter}" if adapter else sorted(adapters)[0]
    if path not in adapters:
        have = ", ".join(p.rsplit("/", 1)[-1] for p in sorted(adapters))
        raise WatchUnavailable(f"there is no Bluetooth adapter {adapter} (this machine has {have})", "pick one")
    if not adapters[path].get("Powered", False):
        name = path.rsplit("/", 1)[-1]
        raise WatchUnavailable(f"Bluetooth is off ({name} is powered down)", "turn it on: bluetoothctl power on")
    return path


def device_in(objects: dict[str, dict[str, dict[str, Any]]], address: str, adapter_path: str) -> BLEDevice | None:
    """The watch as BlueZ already knows it (paired, or seen before), connectable without a new scan.

    Many watches stop advertising once bonded, and BlueZ does not re-announce a device it already has,
    so a paired watch is reached through BlueZ's object tree, as ``bluetoothctl connect`` does."""
    from bleak.backends.device import BLEDevice

    for path, interfaces in objects.items():
        props = interfaces.get("org.bluez.Device1")
        if props is None or props.get("Adapter") != adapter_path:
            continue
        if str(props.get("Address", "")).upper() == address.upper():
            return BLEDevice(props["Address"], props.get("Alias") or props.get("Name"), {"path": path, "props": props})
    return None


async def _quietly(done: Any) -> None:
    try:
        await asyncio.wait_for(done, 5.0)
    except Exception:  # tearing down a link that is already gone: nothing left to tell anyone
        return
