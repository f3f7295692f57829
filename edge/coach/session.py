"""The live coach inside a running call: window events in, nudges out, off the transcription path.

The rolling window hands each utterance to ``subscriber`` (on the call's event loop); ``run`` is a
task of the call's supervisor that feeds them to the coach and ticks it every ``tick_s`` with the
audio time captured so far. The coach's own work (a sentence embedding, the gate) runs in a worker
thread and the LLM in the confirmer's, so neither capture nor recognition ever waits on the coach.
Every nudge is stored with the utterances that triggered it, then handed to the watch's delivery queue
(which never blocks: ``haptics.delivery``) and to ``on_nudge`` (the terminal); every candidate is
stored with its verdict.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from edge.call_store import CallStore
from edge.coach.coach import FiredNudge, LiveCoach
from edge.frames import CallEnded, Role, Utterance
from edge.window import WindowState
from haptics.delivery import WatchDelivery
from haptics.patterns import pattern


@dataclass(frozen=True)
class SessionSettings:
    tick_s: float = 0.2
    """How often timers are checked (seconds)."""


class CoachSession:
    def __init__(
        self,
        coach: LiveCoach,
        store: CallStore,
        on_nudge: Callable[[FiredNudge], None] | None = None,
        settings: SessionSettings | None = None,
        watch: WatchDelivery | None = None,
    ) -> None:
        self.settings = settings or SessionSettings()
        self.coach = coach
        self.watch = watch
        self.failed: str | None = None
        self.latencies_s: list[float] = []
        """Decidable (the audio time it became so, on the wall clock) → sent, per nudge."""
        self._store = store
        self._on_nudge = on_nudge
        self._queue: asyncio.Queue[Utterance] = asyncio.Queue()
        self._finished = asyncio.Event()
        self._last_rep_end_s = -1.0
        self._t0_ns: int | None = None  # wall time of audio time 0, from the first chunk's arrival

    def subscriber(self, event: Utterance | CallEnded, _: WindowState) -> None:
        if isinstance(event, Utterance):
            self._queue.put_nowait(event)

    def audio_clock(self, captured_s: float, arrived_ns: int) -> None:
        """The capture side reports each chunk: audio time ``captured_s`` arrived at ``arrived_ns``."""
        if self._t0_ns is None:
            self._t0_ns = arrived_ns - int(captured_s * 1e9)

    def finish(self) -> None:
        """Recognition is over: the coach drains what is queued and stops."""
        self._finished.set()

    async def run(
        self, recognised_s: Callable[[], float], speech_since_s: Callable[[], float | None] = lambda: None
    ) -> None:
        """Until ``finish``: ``recognised_s`` says how far into the audio the words are known, ``speech_since_s``
        where the speech going on there began (None in silence). A coach that fails stops coaching, says why
        in the call's events, and leaves the recording running."""
        try:
            await self._run(recognised_s, speech_since_s)
        except Exception as exc:
            self.failed = f"{type(exc).__name__}: {exc}"
            self._store.log_event(self.coach.call_id, "coach_failed", {"error": self.failed})

    async def _run(self, recognised_s: Callable[[], float], speech_since_s: Callable[[], float | None]) -> None:
        next_tick = 0.0
        while not (self._finished.is_set() and self._queue.empty()):
            try:
                utterance = await asyncio.wait_for(self._queue.get(), self.settings.tick_s)
            except TimeoutError:
                utterance = None
            now_s, since_s = recognised_s(), speech_since_s()
            if utterance is not None:
                await self._deliver(await asyncio.to_thread(self._observe, utterance, now_s))
            if now_s >= next_tick:
                next_tick = now_s + self.settings.tick_s
                tick = partial(self.coach.tick, now_s, self._rep_speaking(now_s), since_s)
                await self._deliver(await asyncio.to_thread(tick))
        self.coach.close()
        self._log_candidates()

    def _observe(self, u: Utterance, now_s: float) -> list[FiredNudge]:
        if u.role == Role.REP:
            self._last_rep_end_s = max(self._last_rep_end_s, u.end_s)
        return self.coach.observe(u, self._rep_speaking(now_s))

    def _rep_speaking(self, now_s: float) -> bool:
        # Live, the rep's current sentence is not an utterance yet; a rep turn that ended a moment ago,
        # with audio still coming, is the best sign they are still going.
        return 0.0 <= now_s - self._last_rep_end_s < 1.0

    async def _deliver(self, fired: list[FiredNudge]) -> None:
        for f in fired:
            latency = None
            if self._t0_ns is not None:
                decidable_ns = self._t0_ns + int(f.decision.candidate.at_s * 1e9)
                latency = max(0.0, (time.monotonic_ns() - decidable_ns) / 1e9)
                self.latencies_s.append(latency)
            nudge_id = self._store.add_nudge(f.nudge, f.decision.candidate.reason, latency)
            if self.watch is not None:
                self.watch.submit(str(nudge_id), pattern(f.nudge.pattern), f.nudge.deadline_mono_ns)
            if self._on_nudge is not None:
                self._on_nudge(f)

    def _log_candidates(self) -> None:
        for d in self.coach.gate.log:
            c = d.candidate
            label = d.verdict.label if d.verdict else None
            self._store.add_coach_candidate(
                self.coach.call_id, c.type.value, c.utterance_ids, d.confidence, c.at_s, d.fired, d.why, label
            )
