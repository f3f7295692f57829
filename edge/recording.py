"""Record one call end to end: source → speech pipeline → call store, then the second pass.

The one place ``replay``, ``live``, the evaluation harness and the tests share, so they all
exercise the same path a rep's device runs.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edge.call_runner import CallRunner, RunnerSettings
from edge.call_store import CallStore
from edge.coach.coach import FiredNudge
from edge.coach.models import CoachModels
from edge.coach.session import CoachSession
from edge.enrollment import Voiceprint
from edge.frames import CallEnded, Utterance
from edge.realign import Realignment, realign_call
from edge.sources import AudioSource
from edge.speech_models import SpeechModels
from edge.speech_pipeline import PipelineSettings, PipelineStats
from edge.window import RollingWindow, WindowState
from haptics.delivery import DeliveryReport, WatchDelivery
from haptics.link import WatchLink

if TYPE_CHECKING:
    from rubric_cache.cache import PinnedRubric


@dataclass(frozen=True)
class RecordedCall:
    call_id: str
    end_s: float
    utterances: int
    stats: PipelineStats
    second_pass: Realignment | None
    nudge_latencies_s: tuple[float, ...] = ()
    deliveries: tuple[DeliveryReport, ...] = ()
    """What became of each nudge on the way to the wrist (empty without a watch link)."""


def record_call(
    store: CallStore,
    models: SpeechModels,
    source: AudioSource,
    source_name: str,
    voiceprint: Voiceprint | None = None,
    on_utterance: Callable[[Utterance], None] | None = None,
    on_call_started: Callable[[str], None] | None = None,
    second_pass: bool = True,
    stop: Callable[[], None] | None = None,
    settings: PipelineSettings | None = None,
    runner_settings: RunnerSettings | None = None,
    coach: CoachModels | None = None,
    trade: str | None = None,
    on_nudge: Callable[[FiredNudge], None] | None = None,
    open_watch: Callable[[], Awaitable[WatchLink]] | None = None,
    rubric: PinnedRubric | None = None,
) -> RecordedCall:
    """``voiceprint``: the enrolled rep on this call (see ``VoiceprintBook``), or None. ``stop``, when
    given, is called on Ctrl-C (a live source ends cleanly and the call is stored). With ``coach`` the
    live coach watches the call (``trade`` picks the starter rubric its price check reads) and each nudge
    is stored and handed to ``on_nudge``; with ``open_watch`` too (it makes the link inside the call's
    event loop, as bleak needs), each nudge is played on the wrist and its delivery stored. ``rubric`` is
    the call's pinned rubric (``EdgeRubricCache.pin``): stored on the call, and its steps required
    before price are what the coach checks; it does not change until the call ends."""
    rep_id = voiceprint.rep_id if voiceprint else None
    window = RollingWindow()
    if on_utterance is not None:
        callback = on_utterance

        def forward(event: Utterance | CallEnded, _: WindowState) -> None:
            if isinstance(event, Utterance):
                callback(event)

        window.subscribe(forward)
    make_coach = None
    links: list[WatchLink] = []
    if coach is not None:
        coach_models = coach

        def make_coach(call_id: str) -> CoachSession:
            delivery = _delivery(store, call_id, links[0]) if links else None
            steps = tuple(s.id for s in rubric.content.before_price_steps) if rubric else None
            return coach_models.session(call_id, store, trade, on_nudge, delivery, steps, source.paced)

    runner = CallRunner(
        store,
        lambda call_id: models.pipeline(call_id, voiceprint, settings),
        window,
        runner_settings,
        make_coach=make_coach,
    )

    async def run() -> tuple[str, float, int]:
        if stop is not None:
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop)
        if open_watch is not None and coach is not None:
            links.append(await open_watch())
        outcome = await runner.run(source, source_name, 16_000, rep_id, on_call_started, rubric.ref if rubric else None)
        return outcome.call_id, outcome.end_s, outcome.utterances

    call_id, end_s, count = asyncio.run(run())
    realignment = None
    if second_pass:
        realignment = realign_call(store, call_id, models.realigner(), voiceprint)
    stats = runner.pipeline.stats if runner.pipeline else PipelineStats()
    latencies = tuple(runner.coach.latencies_s) if runner.coach else ()
    watch = runner.coach.watch if runner.coach else None
    deliveries = tuple(watch.reports) if watch else ()
    return RecordedCall(call_id, end_s, count, stats, realignment, latencies, deliveries)


def _delivery(store: CallStore, call_id: str, link: WatchLink) -> WatchDelivery:
    def stored(r: DeliveryReport) -> None:
        store.add_nudge_delivery(
            call_id, int(r.key), r.pattern, r.outcome.value, r.link, r.latency_s, r.attempts, r.error
        )

    return WatchDelivery(link, on_report=stored, on_event=lambda kind, detail: store.log_event(call_id, kind, detail))
