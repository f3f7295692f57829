"""Delivery: keeps the watch link up and plays each nudge before its deadline, or drops it.

A supervised connection: when the link is down it reconnects with exponential backoff, whether or not
anything is waiting, so the next nudge does not pay for the connect. Nudges wait in a queue in the
order they fired; one still queued when its deadline passes (default 3 s after it fired) is dropped
and reported as expired: a tap that arrives 20 s late points at the wrong moment, so it is never
replayed late. A send that fails or is not acknowledged in time drops the link (it reconnects) and
the nudge stays at the head of the queue while its deadline allows. Every nudge ends in exactly one
report (delivered, expired or failed), handed to ``on_report`` for the call store.

``submit`` never blocks and never raises for a link problem, so the coach is never held up by the watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from haptics.errors import WatchError
from haptics.link import LinkState, WatchLink
from haptics.patterns import HapticPattern


class Outcome(StrEnum):
    DELIVERED = "delivered"
    EXPIRED = "expired"
    """Still queued when its deadline passed (the watch was away, or slow): dropped, never played late."""
    FAILED = "failed"
    """Delivery stopped with the nudge unsent (the call ended, or the delivery task broke)."""


@dataclass(frozen=True)
class DeliverySettings:
    deadline_s: float = 3.0
    """A nudge not on the wrist this long after it was submitted is dropped (seconds)."""
    send_timeout_s: float = 1.5
    """A write not acknowledged in this long counts as failed and the link is reset (seconds)."""
    connect_timeout_s: float = 8.0
    """One connection attempt, including service discovery (seconds)."""
    backoff_initial_s: float = 0.5
    """Wait after the first failed connection attempt (seconds); doubles per failure."""
    backoff_max_s: float = 8.0
    """Longest wait between connection attempts (seconds)."""


@dataclass(frozen=True)
class DeliveryReport:
    key: str
    """The caller's id for the nudge (the call store's nudge id)."""
    pattern: str
    outcome: Outcome
    link: str
    submitted_ns: int
    finished_ns: int
    attempts: int
    error: str | None = None

    @property
    def latency_s(self) -> float:
        """Submitted → delivered (or given up), seconds."""
        return (self.finished_ns - self.submitted_ns) / 1e9


@dataclass
class _Queued:
    key: str
    pattern: HapticPattern
    submitted_ns: int
    deadline_ns: int
    attempts: int = 0
    errors: list[str] = field(default_factory=list)


class WatchDelivery:
    def __init__(
        self,
        link: WatchLink,
        on_report: Callable[[DeliveryReport], None] | None = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        settings: DeliverySettings | None = None,
        now_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        """``on_event(kind, detail)`` hears the link's ups and downs ("watch_connected", ...)."""
        self.settings = settings or DeliverySettings()
        self.link = link
        self.reports: list[DeliveryReport] = []
        self.failed: str | None = None
        """Why the delivery task stopped early (a bug in a link), if it did."""
        self._on_report = on_report
        self._on_event = on_event
        self._now_ns = now_ns
        self._queue: deque[_Queued] = deque()
        self._wake = asyncio.Event()
        self._closing = False
        self._backoff_s = self.settings.backoff_initial_s
        self._retry_at_ns = 0

    def submit(self, key: str, pattern: HapticPattern, deadline_ns: int | None = None) -> None:
        """Queue ``pattern`` for the wrist. ``deadline_ns`` (monotonic clock) caps the default deadline."""
        now = self._now_ns()
        deadline = now + int(self.settings.deadline_s * 1e9)
        if deadline_ns is not None:
            deadline = min(deadline, deadline_ns)
        self._queue.append(_Queued(key, pattern, now, deadline))
        self._wake.set()

    def close(self) -> None:
        """No more nudges: ``run`` sends what is queued while its deadlines allow, then disconnects and returns."""
        self._closing = True
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def run(self) -> None:
        try:
            await self._run()
        except Exception as exc:  # a broken link must not take the call down with it: say so and stop
            self.failed = f"{type(exc).__name__}: {exc}"
            self._event("watch_delivery_failed", {"error": self.failed})
        finally:
            while self._queue:
                self._finish(self._queue.popleft(), Outcome.FAILED, "delivery stopped before it was sent")
            with contextlib.suppress(WatchError, TimeoutError):
                await asyncio.wait_for(self.link.disconnect(), self.settings.send_timeout_s)

    async def _run(self) -> None:
        while True:
            self._expire_stale()
            if self._closing and not self._queue:
                return
            if self.link.state != LinkState.CONNECTED:
                if self._now_ns() < self._retry_at_ns:
                    await self._sleep_until(self._retry_at_ns)
                else:
                    await self._connect()
                continue
            if not self._queue:
                await self._idle()
                continue
            await self._send(self._queue[0])

    async def _connect(self) -> None:
        try:
            await asyncio.wait_for(self.link.connect(), self.settings.connect_timeout_s)
        except (WatchError, TimeoutError) as exc:
            error = _describe(exc)
            self._retry_at_ns = self._now_ns() + int(self._backoff_s * 1e9)
            self._event("watch_connect_failed", {"link": self.link.name, "error": error, "retry_s": self._backoff_s})
            self._backoff_s = min(self._backoff_s * 2, self.settings.backoff_max_s)
            for item in self._queue:
                item.errors.append(error)
            return
        self._backoff_s = self.settings.backoff_initial_s
        self._event("watch_connected", {"link": self.link.name})

    async def _send(self, item: _Queued) -> None:
        item.attempts += 1
        left_s = (item.deadline_ns - self._now_ns()) / 1e9
        try:
            await asyncio.wait_for(self.link.send(item.pattern), max(0.0, min(self.settings.send_timeout_s, left_s)))
        except (WatchError, TimeoutError) as exc:
            item.errors.append(_describe(exc))
            self._event("watch_send_failed", {"link": self.link.name, "key": item.key, "error": item.errors[-1]})
            # The link is in doubt: drop it so the next attempt starts from a fresh connection.
            with contextlib.suppress(WatchError, TimeoutError):
                await asyncio.wait_for(self.link.disconnect(), self.settings.send_timeout_s)
            return
        self._queue.remove(item)
        self._finish(item, Outcome.DELIVERED)

    def _expire_stale(self) -> None:
        now = self._now_ns()
        for item in [q for q in self._queue if q.deadline_ns <= now]:
            self._queue.remove(item)
            why = item.errors[-1] if item.errors else "not sent before its deadline"
            self._finish(item, Outcome.EXPIRED, why)

    def _finish(self, item: _Queued, outcome: Outcome, error: str | None = None) -> None:
        report = DeliveryReport(
            item.key, item.pattern.name, outcome, self.link.name,
            item.submitted_ns, self._now_ns(), item.attempts, error,
        )  # fmt: skip
        self.reports.append(report)
        if self._on_report is not None:
            self._on_report(report)

    def _next_deadline_ns(self) -> int | None:
        return min((q.deadline_ns for q in self._queue), default=None)

    async def _sleep_until(self, until_ns: int) -> None:
        """Until ``until_ns``, the next deadline, or a wake-up (a new nudge, close), whichever is first."""
        deadline = self._next_deadline_ns()
        if deadline is not None:
            until_ns = min(until_ns, deadline)
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), max(0.0, (until_ns - self._now_ns()) / 1e9))

    async def _idle(self) -> None:
        """Connected with nothing to send: wait for a nudge, close, or the link dropping."""
        self._wake.clear()
        if self._queue or self._closing:
            return
        woken = asyncio.ensure_future(self._wake.wait())
        dropped = asyncio.ensure_future(self.link.wait_disconnected())
        try:
            await asyncio.wait({woken, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (woken, dropped):
                task.cancel()
        if dropped.done() and not dropped.cancelled():
            self._event("watch_disconnected", {"link": self.link.name})

    def _event(self, kind: str, detail: dict[str, Any]) -> None:
        if self._on_event is not None:
            self._on_event(kind, detail)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, WatchError):
        return f"{type(exc).__name__}: {exc.message}"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"
