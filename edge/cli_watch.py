"""`ridealong watch scan|pair|test|status|forget`: find, pair and try the rep's watch."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from edge.cli_calls import data_dir
from haptics.errors import WatchError
from haptics.paired import PairedWatch, PairedWatchFile
from haptics.patterns import VOCABULARY, pattern
from haptics.profiles import Profile


def default_watch_file() -> Path:
    """Beside the call store (``data_dir``)."""
    return data_dir() / "watch.json"


def add_parser(sub: Any) -> None:
    watch = sub.add_parser("watch", help="the rep's watch: scan, pair, test, status")
    watch.add_argument("--file", type=Path, default=default_watch_file(), help="the paired watch (%(default)s)")
    wsub = watch.add_subparsers(dest="watch_command", required=True)
    scan = wsub.add_parser("scan", help="list Bluetooth devices as they are heard, marking usable watches")
    scan.add_argument("--seconds", type=float, default=10.0, help="how long to listen (default %(default)s)")
    scan.add_argument("--adapter", help="local adapter, e.g. hci0 (default: the system's)")
    pair = wsub.add_parser("pair", help="connect to a watch, bond with it and remember it for every call")
    pair.add_argument("address", help="the watch's address, from `ridealong watch scan`")
    pair.add_argument("--adapter", help="local adapter, e.g. hci0 (default: the system's)")
    pair.add_argument("--profile", choices=[p.value for p in Profile], help="force a profile (default: the best)")
    pair.add_argument("--no-bond", action="store_true", help="remember the watch without bonding")
    test = wsub.add_parser("test", help="play a pattern on the paired watch (the console if there is none)")
    test.add_argument("--pattern", default="test", choices=[*sorted(VOCABULARY), "all"], help="default: test")
    wsub.add_parser("status", help="the paired watch, and whether it answers now")
    wsub.add_parser("forget", help="forget the paired watch (nudges go to the console)")


def run(args: argparse.Namespace) -> int:
    paired_file = PairedWatchFile(args.file)
    try:
        if args.watch_command == "scan":
            return asyncio.run(_scan(args.seconds, args.adapter))
        if args.watch_command == "pair":
            profile = Profile(args.profile) if args.profile else None
            return asyncio.run(_pair(paired_file, args.address, args.adapter, profile, not args.no_bond))
        if args.watch_command == "test":
            names = sorted(VOCABULARY) if args.pattern == "all" else [args.pattern]
            return asyncio.run(_test(paired_file, names))
        if args.watch_command == "status":
            return asyncio.run(_status(paired_file))
        paired_file.forget()
        print(f"forgot the paired watch ({paired_file.path}); nudges go to the console")
        return 0
    except WatchError as exc:
        print(f"error: {exc}")
        return 2


async def _scan(seconds: float, adapter: str | None) -> int:
    from haptics.bleak_link import SeenDevice, scan
    from haptics.profiles import choose

    def show(d: SeenDevice) -> None:
        usable = choose(d.service_uuids).profile.value if d.supported else "-"
        rssi = f"{d.rssi} dBm" if d.rssi is not None else ""
        print(f"{d.address}  {(d.name or '(no name)'):<24} {rssi:>8}  {usable}", flush=True)

    print(f"listening {seconds:.0f} s for Bluetooth devices (the last column: the profile a watch would use)")
    found = await scan(seconds, show, adapter)
    usable = sum(d.supported for d in found)
    hint = "; pair one: ridealong watch pair ADDRESS" if usable else ""
    print(f"{len(found)} devices, {usable} usable as a watch{hint}")
    return 0


async def _pair(file: PairedWatchFile, address: str, adapter: str | None, profile: Profile | None, bond: bool) -> int:
    from haptics.bleak_link import BleakLinkSettings, BleakWatchLink

    link = BleakWatchLink(BleakLinkSettings(address, adapter, profile))
    try:
        await (link.pair() if bond else link.connect())
        assert link.profile is not None
        await link.send(pattern("test"))
    finally:
        await link.disconnect()
    file.save(PairedWatch(address, link.device_name, link.profile.profile, adapter))
    print(
        f"paired with {link.name}{' (bonded)' if bond else ''}; it buzzed the test pattern. "
        f"Every call's nudges now go to it (saved in {file.path})"
    )
    return 0


async def _test(file: PairedWatchFile, names: list[str]) -> int:
    from haptics.factory import open_watch_link

    choice = await open_watch_link(file.load())
    if choice.fallback_reason:
        print(f"no watch link, so the console plays it: {choice.fallback_reason}")
        await choice.link.connect()
    try:
        for name in names:
            started = time.perf_counter()
            await choice.link.send(pattern(name))
            print(f"sent {name} to {choice.link.name} in {(time.perf_counter() - started) * 1000:.1f} ms")
    finally:
        await choice.link.disconnect()
    return 0


async def _status(file: PairedWatchFile) -> int:
    from haptics.factory import open_watch_link

    paired = file.load()
    if paired is None:
        print("no watch paired: nudges go to the console (ridealong watch scan, then ridealong watch pair ADDRESS)")
        return 0
    print(f"paired: {paired.name or '(no name)'} {paired.address}, profile {paired.profile.value}")
    started = time.perf_counter()
    choice = await open_watch_link(paired)
    await choice.link.disconnect()
    if choice.fallback_reason:
        print(f"not reachable now, nudges would go to the console: {choice.fallback_reason}")
        return 1
    print(f"reachable: connected in {(time.perf_counter() - started) * 1000:.0f} ms")
    return 0
