"""Delivery against the recording fake: deadlines, reconnects, backoff, close; real asyncio, short timings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from haptics.delivery import DeliverySettings, Outcome, WatchDelivery
from haptics.fake import RecordingWatchLink
from haptics.patterns import pattern

FAST = DeliverySettings(
    deadline_s=0.4, send_timeout_s=0.1, connect_timeout_s=0.2, backoff_initial_s=0.05, backoff_max_s=0.1
)


@asynccontextmanager
async def running(link: RecordingWatchLink, **kw: Any) -> AsyncIterator[WatchDelivery]:
    """A delivery task over ``link``; closed at the end, and it must then stop within a second."""
    delivery = WatchDelivery(link, settings=FAST, **kw)
    task = asyncio.create_task(delivery.run())
    try:
        yield delivery
    finally:
        delivery.close()
        await asyncio.wait_for(task, FAST.deadline_s + 1)


async def _until(check: object, timeout_s: float = 2.0) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def test_nudges_are_played_in_order_and_reported() -> None:
    async def run() -> None:
        link = RecordingWatchLink()
        events: list[str] = []
        async with running(link, on_event=lambda kind, _: events.append(kind)) as delivery:
            delivery.submit("1", pattern("answer"))
            delivery.submit("2", pattern("listen"))
            await _until(lambda: len(delivery.reports) == 2)
            assert [p.pattern.name for p in link.played] == ["answer", "listen"]
            assert [(r.key, r.outcome) for r in delivery.reports] == [
                ("1", Outcome.DELIVERED),
                ("2", Outcome.DELIVERED),
            ]
            assert all(r.latency_s < 0.2 and r.attempts == 1 for r in delivery.reports)
            assert events[0] == "watch_connected"

    asyncio.run(run())


def test_a_watch_away_past_the_deadline_expires_the_nudge_and_never_plays_it_late() -> None:
    async def run() -> None:
        link = RecordingWatchLink()
        async with running(link) as delivery:
            await _until(lambda: link.connects == 1)
            link.drop(in_range=False)
            delivery.submit("stale", pattern("competitor"))
            await _until(lambda: len(delivery.reports) == 1)
            (report,) = delivery.reports
            assert report.outcome == Outcome.EXPIRED and report.key == "stale"
            assert 0.35 < report.latency_s < 0.6
            assert "out of range" in (report.error or "")
            link.in_range = True  # back in range: the stale nudge stays dropped
            delivery.submit("fresh", pattern("answer"))
            await _until(lambda: len(delivery.reports) == 2)
            assert delivery.reports[1].outcome == Outcome.DELIVERED
            assert [p.pattern.name for p in link.played] == ["answer"]
            assert link.connects > 2, "it kept trying to reconnect while the watch was away"

    asyncio.run(run())


def test_a_nudge_queued_during_a_short_drop_arrives_within_its_deadline() -> None:
    async def run() -> None:
        link = RecordingWatchLink()
        async with running(link) as delivery:
            await _until(lambda: link.connects == 1)
            link.drop(in_range=False)
            delivery.submit("queued", pattern("next_step"))
            await asyncio.sleep(0.12)
            link.in_range = True
            await _until(lambda: len(delivery.reports) == 1)
            (report,) = delivery.reports
            assert report.outcome == Outcome.DELIVERED and report.latency_s < FAST.deadline_s

    asyncio.run(run())


def test_a_stalled_write_resets_the_link_and_retries_within_the_deadline() -> None:
    async def run() -> None:
        link = RecordingWatchLink()
        async with running(link) as delivery:
            await _until(lambda: link.connects == 1)
            link.stalled = True
            delivery.submit("a", pattern("answer"))
            await asyncio.sleep(0.15)  # the first write times out (0.1 s) and the link is reset
            link.stalled = False
            await _until(lambda: len(delivery.reports) == 1)
            (report,) = delivery.reports
            assert report.outcome == Outcome.DELIVERED and report.attempts >= 2
            assert link.connects >= 2

    asyncio.run(run())


def test_backoff_grows_between_failed_connects() -> None:
    async def run() -> None:
        link = RecordingWatchLink()
        link.in_range = False
        retries: list[float] = []
        delivery = WatchDelivery(
            link,
            on_event=lambda kind, d: retries.append(d["retry_s"]) if kind == "watch_connect_failed" else None,
            settings=FAST,
        )
        task = asyncio.create_task(delivery.run())
        await asyncio.sleep(0.35)
        delivery.close()
        await asyncio.wait_for(task, 1)
        assert retries[:3] == [0.05, 0.1, 0.1]  # doubles, capped at backoff_max_s
        assert 3 <= link.connects <= 6, "it must wait between attempts, not spin"

    asyncio.run(run())


def test_submit_never_blocks_and_close_is_bounded_with_the_watch_away() -> None:
    async def run() -> None:
        link = RecordingWatchLink()
        link.in_range = False
        async with running(link) as delivery:  # closed at once: it may take no longer than the deadlines
            started = time.monotonic()
            for i in range(50):
                delivery.submit(str(i), pattern("listen"))
            assert time.monotonic() - started < 0.05
        assert {r.outcome for r in delivery.reports} == {Outcome.EXPIRED}
        assert len(delivery.reports) == 50 and delivery.pending == 0

    asyncio.run(run())


def test_an_explicit_deadline_caps_the_default() -> None:
    async def run() -> None:
        link = RecordingWatchLink()
        link.in_range = False
        async with running(link) as delivery:
            delivery.submit("tight", pattern("answer"), deadline_ns=time.monotonic_ns() + 100_000_000)
            await _until(lambda: len(delivery.reports) == 1)
            assert delivery.reports[0].latency_s < 0.3

    asyncio.run(run())
