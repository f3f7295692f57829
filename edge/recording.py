"""Record one call end to end: source → speech pipeline → call store, then the second pass.

The one place ``replay``, ``live``, the evaluation harness and the tests share, so they all
exercise the same path a rep's device runs.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass

from edge.call_runner import CallRunner, RunnerSettings
from edge.call_store import CallStore
from edge.coach.coach import FiredNudge
from edge.coach.models import CoachModels
from edge.coach.session import CoachSession
from edge.enrollment import Voiceprint
from edge.frames import AudioChunk, CallEnded, Utterance
from edge.realign import Realignment, realign_call
from edge.speech_models import SpeechModels
from edge.speech_pipeline import PipelineSettings, PipelineStats
from edge.window import RollingWindow, WindowState


@dataclass(frozen=True)
class RecordedCall:
    call_id: str
    end_s: float
    utterances: int
    stats: PipelineStats
    second_pass: Realignment | None
    nudge_latencies_s: tuple[float, ...] = ()


def record_call(
    store: CallStore,
    models: SpeechModels,
    source: AsyncIterable[AudioChunk],
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
) -> RecordedCall:
    """``voiceprint``: the enrolled rep on this call (see ``VoiceprintBook``), or None. ``stop``, when
    given, is called on Ctrl-C (a live source ends cleanly and the call is stored). With ``coach`` the
    live coach watches the call (``trade`` picks the starter rubric its price check reads) and each nudge
    is stored and handed to ``on_nudge``."""
    rep_id = voiceprint.rep_id if voiceprint else None
    window = RollingWindow()
    if on_utterance is not None:
        callback = on_utterance

        def forward(event: Utterance | CallEnded, _: WindowState) -> None:
            if isinstance(event, Utterance):
                callback(event)

        window.subscribe(forward)
    make_coach = None
    if coach is not None:
        coach_models = coach

        def make_coach(call_id: str) -> CoachSession:
            return coach_models.session(call_id, store, trade, on_nudge)

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
        outcome = await runner.run(source, source_name, 16_000, rep_id, on_call_started)
        return outcome.call_id, outcome.end_s, outcome.utterances

    call_id, end_s, count = asyncio.run(run())
    realignment = None
    if second_pass:
        realignment = realign_call(store, call_id, models.realigner(), voiceprint)
    stats = runner.pipeline.stats if runner.pipeline else PipelineStats()
    latencies = tuple(runner.coach.latencies_s) if runner.coach else ()
    return RecordedCall(call_id, end_s, count, stats, realignment, latencies)
