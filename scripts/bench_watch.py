"""Watch-link benchmark: how long a nudge takes from ``send()`` to the watch's characteristic write.

    .venv/bin/python scripts/bench_watch.py [--sends 200] [--interval-ms 25]

Per profile (Immediate Alert, Alert Notification, Ridealong), on a fresh BlueZoo (a mock of BlueZ's
D-Bus API on a private bus; there is no Bluetooth radio on these machines): a fake watch runs as its own
process and registers the profile's service; the real bleak connects from this process and writes.
Two paths are timed, each over ``--sends`` nudges, one every ``--interval-ms``:

- link: ``BleakWatchLink.send()`` called → the watch's ``WriteValue`` handler runs;
- delivery: ``WatchDelivery.submit()`` (what the coach calls) → the same write, through the queue.

Both ends read CLOCK_MONOTONIC, so the two processes' timestamps compare directly. What this measures
is the software path (bleak, D-Bus, BlueZ's API, the watch app); a real radio adds the connection
interval (7.5-50 ms on watches) on top. No peer runs here to compare against. The last stdout line is
a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from haptics.bleak_link import BleakLinkSettings, BleakWatchLink
from haptics.delivery import Outcome, WatchDelivery
from haptics.patterns import VOCABULARY
from haptics.profiles import Profile
from scripts.figures import percentile
from tests.haptics.bluezoo import BlueZoo, running_bluezoo

REPO = Path(__file__).resolve().parents[1]


def _read_writes(log: Path) -> list[int]:
    return [json.loads(line)["t_mono_ns"] for line in log.read_text().splitlines() if line.strip()]


async def _wait_for_lines(log: Path, count: int, timeout_s: float = 30.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        writes = _read_writes(log) if log.exists() else []
        if len(writes) >= count:
            return writes
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the fake watch logged {len(_read_writes(log))} of {count} writes")


async def _bench(zoo: BlueZoo, log: Path, sends: int, interval_s: float) -> dict[str, object]:
    patterns = list(VOCABULARY.values())
    link = BleakWatchLink(BleakLinkSettings(zoo.watch_address, zoo.phone_adapter))
    started = time.perf_counter()
    await link.connect()
    connect_s = time.perf_counter() - started
    assert link.profile is not None

    sent_ns, call_s = [], []
    for i in range(sends):
        t0 = time.monotonic_ns()
        await link.send(patterns[i % len(patterns)])
        call_s.append((time.monotonic_ns() - t0) / 1e9)
        sent_ns.append(t0)
        await asyncio.sleep(interval_s)
    link_writes = await _wait_for_lines(log, sends)

    delivery = WatchDelivery(link)
    task = asyncio.create_task(delivery.run())
    submitted_ns = []
    for i in range(sends):
        submitted_ns.append(time.monotonic_ns())
        delivery.submit(str(i), patterns[i % len(patterns)])
        await asyncio.sleep(interval_s)
    all_writes = await _wait_for_lines(log, 2 * sends)
    delivery.close()
    await task
    delivered = sum(r.outcome == Outcome.DELIVERED for r in delivery.reports)

    link_ms = [(w - s) / 1e6 for w, s in zip(link_writes[:sends], sent_ns, strict=True)]
    delivery_ms = [(w - s) / 1e6 for w, s in zip(all_writes[sends : 2 * sends], submitted_ns, strict=True)]
    return {
        "link": link.name,
        "connect_s": round(connect_s, 3),
        "sends": sends,
        "delivered": delivered,
        "send_to_write_ms": _stats(link_ms),
        "send_call_ms": _stats([s * 1000 for s in call_s]),
        "submit_to_write_ms": _stats(delivery_ms),
    }


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 2),
        "p95": round(percentile(values, 95), 2),
        "max": round(max(values), 2),
    }


def run_profile(profile: Profile, sends: int, interval_s: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, running_bluezoo(Path(tmp)) as zoo:
        log = Path(tmp) / "writes.jsonl"
        env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": zoo.bus_address}
        watch = subprocess.Popen(
            [sys.executable, "-m", "tests.haptics.fake_watch", "--profile", profile.value, "--log", str(log)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert watch.stdout is not None
            if watch.stdout.readline().strip() != "ready":
                raise RuntimeError("the fake watch did not start")
            os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = zoo.bus_address
            return {"profile": profile.value, **asyncio.run(_bench(zoo, log, sends, interval_s))}
        finally:
            watch.terminate()
            watch.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=200)
    parser.add_argument("--interval-ms", type=float, default=25.0)
    args = parser.parse_args()
    results = [run_profile(p, args.sends, args.interval_ms / 1000) for p in Profile]
    print(f"\n{args.sends} sends per path, one every {args.interval_ms:.0f} ms; milliseconds p50 / p95 / max")
    print(f"{'profile':<20} {'connect s':>9} {'send() → write':>22} {'submit() → write':>22} {'delivered':>10}")
    for r in results:
        link, queue = r["send_to_write_ms"], r["submit_to_write_ms"]
        assert isinstance(link, dict) and isinstance(queue, dict)
        print(
            f"{r['profile']:<20} {r['connect_s']:>9} "
            f"{link['p50']:>7} / {link['p95']:>5} / {link['max']:>5} "
            f"{queue['p50']:>7} / {queue['p95']:>5} / {queue['max']:>5} {r['delivered']:>6}/{r['sends']}"
        )
    print(json.dumps({"profiles": results, "interval_ms": args.interval_ms}))


if __name__ == "__main__":
    main()
