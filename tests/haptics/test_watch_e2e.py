"""End to end on the real parts: the `ridealong watch` commands as processes against BlueZoo, and the
live coach's nudges reaching a watch over the real bleak, with every delivery in a real SQLite store."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from edge.call_store import CallStore
from haptics.bleak_link import BleakLinkSettings, BleakWatchLink
from haptics.delivery import WatchDelivery
from haptics.patterns import VOCABULARY, pattern
from haptics.profiles import Profile, encode
from models.store import ModelStore, default_home
from tests.conftest import REPO
from tests.haptics.bluezoo import BlueZoo, running_bluezoo
from tests.haptics.conftest import WATCH_SERVICES
from tests.haptics.fake_watch import FakeWatch


async def ridealong(*args: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge.cli",
        *args,
        cwd=REPO,
        env={**os.environ, "RIDEALONG_HOME": str(default_home()), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


@asynccontextmanager
async def watch_in_range(zoo: BlueZoo, profile: Profile) -> AsyncIterator[FakeWatch]:
    watch = FakeWatch("PineTime", (WATCH_SERVICES[profile],))
    await watch.start()
    try:
        yield watch
    finally:
        await watch.leave()


def test_scan_pair_then_test_and_status_from_the_command_line(bluezoo: BlueZoo, tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"DBUS_SYSTEM_BUS_ADDRESS": bluezoo.bus_address, "RIDEALONG_DATA": str(data)}
    address = bluezoo.watch_address

    async def first_session() -> None:
        async with watch_in_range(bluezoo, Profile.ALERT_NOTIFICATION) as watch:
            code, out = await ridealong("watch", "scan", "--seconds", "1.5", "--adapter", "hci1", env=env)
            assert code == 0, out
            assert f"{address}  PineTime" in out and "alert-notification" in out and "1 usable" in out
            code, out = await ridealong("watch", "pair", address, "--adapter", "hci1", env=env)
            assert code == 0, out
            assert "paired with PineTime" in out and "(bonded)" in out
            (write,) = await watch.wait_for_writes(1)
            assert write.value == encode(Profile.ALERT_NOTIFICATION, pattern("test"))
        saved = json.loads((data / "watch.json").read_text())
        assert saved == {"address": address, "name": "PineTime", "profile": "alert-notification", "adapter": "hci1"}

    asyncio.run(first_session())

    # Each later connection runs on a fresh BlueZoo, as after the phone restarts: BlueZoo cannot connect
    # twice to one unchanged GATT application (it re-exports the link at the old paths and fails).
    for command in (["watch", "test", "--pattern", "all"], ["watch", "status"]):
        with running_bluezoo(tmp_path / command[1]) as zoo:
            env["DBUS_SYSTEM_BUS_ADDRESS"] = zoo.bus_address

            async def later(command: list[str] = command, zoo: BlueZoo = zoo) -> None:
                async with watch_in_range(zoo, Profile.ALERT_NOTIFICATION) as watch:
                    code, out = await ridealong(*command, env=env)
                    assert code == 0, out
                    if command[1] == "test":
                        writes = await watch.wait_for_writes(len(VOCABULARY))
                        want = [encode(Profile.ALERT_NOTIFICATION, pattern(n)) for n in sorted(VOCABULARY)]
                        assert [w.value for w in writes] == want
                        assert out.count("sent ") == len(VOCABULARY)
                    else:
                        assert "paired: PineTime" in out and "reachable: connected" in out

            os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = zoo.bus_address  # the fake watch's bus, in this process
            asyncio.run(later())


def test_bad_input_is_a_clear_message_and_the_console_stands_in(bluezoo: BlueZoo, tmp_path: Path) -> None:
    env = {"DBUS_SYSTEM_BUS_ADDRESS": bluezoo.bus_address, "RIDEALONG_DATA": str(tmp_path)}

    async def run() -> None:
        code, out = await ridealong("watch", "status", env=env)
        assert code == 0 and "no watch paired" in out
        code, out = await ridealong("watch", "test", "--pattern", "answer", env=env)
        assert code == 0 and "the console plays it" in out and "[wrist]" in out and "ANSWER THEM" in out
        code, out = await ridealong("watch", "pair", "00:99:99:99:99:99", "--adapter", "hci1", env=env)
        assert code == 2 and "error: no watch with address 00:99:99:99:99:99" in out and "fix:" in out
        assert not (tmp_path / "watch.json").exists(), "a failed pairing must not replace the paired watch"
        no_bus = {**env, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"}
        code, out = await ridealong("watch", "scan", "--seconds", "0.5", env=no_bus)
        assert code == 2 and "error:" in out and "BlueZ" in out and "Traceback" not in out

    asyncio.run(run())


@pytest.mark.slow
def test_the_coach_nudges_reach_the_wrist_and_every_delivery_is_stored(bluezoo: BlueZoo, tmp_path: Path) -> None:
    """A live coach (real sentence embedder, fast stages) on a scripted exchange fires; the nudge goes
    through the delivery queue and the real bleak to the watch, and the store has its delivery."""
    from edge.coach.models import CoachModels
    from edge.frames import Role, Utterance

    models = CoachModels(ModelStore(), use_llm=False)
    models.load()
    store = CallStore(tmp_path / "calls.db")
    call_id = store.start_call("local", "scripted", 16_000)
    lines = [
        ("rep", Role.REP, "So that's the system I'd recommend for a house this size."),
        ("cust", Role.CUSTOMER, "Okay. If we went with the middle one, how soon could you start?"),
        ("rep", Role.REP, "Let me tell you about our maintenance plan, it covers everything for ten years."),
    ]
    utterances, t = [], 0.0
    for i, (speaker, role, text) in enumerate(lines):
        end = t + len(text.split()) / 2.5
        utterances.append(Utterance(f"u{i:03d}", call_id, speaker, role, t, end, text, 1.0, 0.95))
        t = end + 0.4

    async def run() -> None:
        async with watch_in_range(bluezoo, Profile.RIDEALONG) as watch:
            link = BleakWatchLink(BleakLinkSettings(bluezoo.watch_address, bluezoo.phone_adapter))

            def stored(r: object) -> None:
                from haptics.delivery import DeliveryReport

                assert isinstance(r, DeliveryReport)
                store.add_nudge_delivery(
                    call_id, int(r.key), r.pattern, r.outcome.value, r.link, r.latency_s, r.attempts, r.error
                )

            delivery = WatchDelivery(link, on_report=stored)
            session = models.session(call_id, store, "hvac", watch=delivery)
            now = [0.0]
            watch_task = asyncio.create_task(delivery.run())
            coach_task = asyncio.create_task(session.run(lambda: now[0]))
            for u in utterances:
                session.subscriber(u, None)  # type: ignore[arg-type]
                now[0] = u.end_s
                await asyncio.sleep(0.05)
            now[0] = t + 5.0
            await asyncio.sleep(0.5)
            session.finish()
            await asyncio.wait_for(coach_task, 30)
            delivery.close()
            await asyncio.wait_for(watch_task, 10)
            nudges = store.nudges(call_id)
            assert [n["type"] for n in nudges] == ["buying_signal"], nudges
            writes = await watch.wait_for_writes(1)
            assert [w.value for w in writes] == [encode(Profile.RIDEALONG, pattern("ask_for_close"))]
            (row,) = store.nudge_deliveries(call_id)
            assert row["nudge_id"] == nudges[0]["id"] and row["outcome"] == "delivered"
            assert row["latency_s"] < 1.0 and "ridealong" in row["link"]

    asyncio.run(run())
