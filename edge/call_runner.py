"""Runs one call: a source's audio into the store and the speech pipeline, utterances into the window.

Two supervised tasks joined by a bounded queue: capture stores the audio (about once a second, so
a crash loses at most that) and hands chunks on; recognition runs the pipeline in a worker thread,
so a slow decode never stalls capture, and stores each utterance the moment it exists. With a coach,
a third task watches the window and fires nudges (``edge/coach/session.py``), and with a watch a
fourth keeps the watch link up and plays them on the wrist (``haptics/delivery.py``); it is closed
when the coach is done, and has at most its deadline (3 s) left to finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass

import numpy as np

from edge.call_store import CallStore
from edge.clock import Clock, MonotonicClock
from edge.coach.session import CoachSession
from edge.frames import AudioChunk, CallEnded, Utterance
from edge.speech_pipeline import SpeechPipeline
from edge.supervisor import Supervisor
from edge.window import RollingWindow


@dataclass(frozen=True)
class RunnerSettings:
    audio_commit_s: float = 1.0
    """Audio is written to the store in pieces this long (seconds): the most a crash can lose."""
    queue_s: float = 120.0
    """Audio (seconds) that may wait for recognition before capture waits too."""
    tenant: str = "local"


@dataclass
class _Progress:
    """What the two tasks have done so far, read when the call ends (however it ends)."""

    captured_s: float = 0.0
    recognised_s: float = 0.0
    """Audio the pipeline has been through: the coach's "now" (its timers cannot run ahead of the words)."""
    speech_since_s: float | None = None
    """Where the speech going on at ``recognised_s`` began, if any (someone talking, words not known yet)."""
    utterances: int = 0


@dataclass(frozen=True)
class CallOutcome:
    call_id: str
    end_s: float
    utterances: int


class CallRunner:
    def __init__(
        self,
        store: CallStore,
        make_pipeline: Callable[[str], SpeechPipeline],
        window: RollingWindow | None = None,
        settings: RunnerSettings | None = None,
        clock: Clock | None = None,
        make_coach: Callable[[str], CoachSession] | None = None,
    ) -> None:
        self.settings = settings or RunnerSettings()
        self.window = window or RollingWindow()
        self.pipeline: SpeechPipeline | None = None
        self.coach: CoachSession | None = None
        self._make_coach = make_coach
        self._store = store
        self._make_pipeline = make_pipeline
        self._clock = clock or MonotonicClock()

    async def run(
        self,
        source: AsyncIterable[AudioChunk],
        source_name: str,
        rate_hz: int,
        rep_id: str | None = None,
        on_call_started: Callable[[str], None] | None = None,
        rubric_ref: str | None = None,
    ) -> CallOutcome:
        """``rubric_ref``: the rubric pinned for this call, stored with it."""
        call_id = self._store.start_call(
            self.settings.tenant, source_name, rate_hz, rep_id=rep_id, rubric_version=rubric_ref
        )
        if on_call_started:
            on_call_started(call_id)
        self.pipeline = pipeline = self._make_pipeline(call_id)
        queue: asyncio.Queue[AudioChunk | None] = asyncio.Queue(maxsize=max(1, int(self.settings.queue_s * 10)))
        progress = _Progress()
        supervisor = Supervisor()
        self.coach = coach = self._make_coach(call_id) if self._make_coach else None
        if coach is not None:
            self.window.subscribe(coach.subscriber)
            supervisor.start("coach", self._coach(coach, progress))
            if coach.watch is not None:
                supervisor.start("watch", coach.watch.run())
        supervisor.start("capture", self._capture(source, call_id, queue, progress, coach))
        supervisor.start("recognise", self._recognise(pipeline, queue, progress, coach))
        try:
            await supervisor.wait()
        finally:
            pipeline.close()
            self._store.end_call(call_id, progress.captured_s)
            self.window.flush(CallEnded(call_id, progress.captured_s, self._clock.now_ns()))
        return CallOutcome(call_id, progress.captured_s, progress.utterances)

    @staticmethod
    async def _coach(coach: CoachSession, progress: _Progress) -> None:
        try:
            await coach.run(lambda: progress.recognised_s, lambda: progress.speech_since_s)
        finally:
            if coach.watch is not None:
                coach.watch.close()  # the last nudges still get their chance, within their deadline

    async def _capture(
        self,
        source: AsyncIterable[AudioChunk],
        call_id: str,
        queue: asyncio.Queue[AudioChunk | None],
        progress: _Progress,
        coach: CoachSession | None,
    ) -> None:
        pending: list[AudioChunk] = []
        try:
            async for chunk in source:
                pending.append(chunk)
                progress.captured_s = chunk.end_s
                if coach is not None:
                    coach.audio_clock(chunk.end_s, chunk.t_mono_ns)
                if chunk.end_s - pending[0].start_s >= self.settings.audio_commit_s:
                    self._commit_audio(call_id, pending)
                    pending = []
                await queue.put(chunk)
        finally:
            self._commit_audio(call_id, pending)
        await queue.put(None)

    def _commit_audio(self, call_id: str, chunks: list[AudioChunk]) -> None:
        if chunks:
            self._store.add_audio(call_id, np.concatenate([c.samples for c in chunks]), chunks[0].start_sample)

    async def _recognise(
        self,
        pipeline: SpeechPipeline,
        queue: asyncio.Queue[AudioChunk | None],
        progress: _Progress,
        coach: CoachSession | None,
    ) -> None:
        try:
            while (chunk := await queue.get()) is not None:
                self._keep(await asyncio.to_thread(pipeline.process, chunk), progress)
                progress.recognised_s, progress.speech_since_s = chunk.end_s, pipeline.speech_since_s
            self._keep(await asyncio.to_thread(pipeline.flush), progress)
        finally:
            if coach is not None:
                coach.finish()

    def _keep(self, utterances: list[Utterance], progress: _Progress) -> None:
        for utterance in utterances:
            self._store.add_utterance(utterance)
            self.window.publish(utterance)
            progress.utterances += 1
