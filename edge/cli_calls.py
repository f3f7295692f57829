"""`ridealong replay|live|enroll|calls`: record calls from a file or the microphone, and look at them."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.call_store import CallStore
from edge.frames import Role, Utterance
from models.loaders import DEFAULT_ASR
from rubric_cache.starter import TRADES

if TYPE_CHECKING:
    from rich.console import Console

    from edge.coach.coach import FiredNudge
    from edge.sources import AudioSource
    from edge.speech_pipeline import PipelineSettings
    from haptics.link import WatchLink

ROLE_STYLE = {Role.REP: "cyan", Role.CUSTOMER: "yellow", Role.OTHER: "magenta", Role.UNKNOWN: "white"}
PULL_TIMEOUT_S = 3.0
"""How long a call's start waits for the cloud's rubric before it goes with the cached one (seconds)."""
LOW_CONFIDENCE = 0.6
"""Below this speaker confidence a line is dimmed: the live coach ignores such utterances too."""


def data_dir() -> Path:
    """Where the agent keeps its data (calls, rubrics, the paired watch): ``$RIDEALONG_DATA`` or
    ``~/.local/share/ridealong``."""
    env = os.environ.get("RIDEALONG_DATA")
    return Path(env) if env else Path.home() / ".local" / "share" / "ridealong"


def default_db() -> Path:
    return data_dir() / "calls.db"


def add_parsers(sub: Any) -> None:
    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", type=Path, default=default_db(), help="the call store (default: %(default)s)")

    def recording(p: argparse.ArgumentParser) -> None:
        common(p)
        p.add_argument("--rep", help="the enrolled rep on this call (see `ridealong enroll`)")
        p.add_argument("--asr", default=DEFAULT_ASR, help="ASR model (see `ridealong models list`)")
        p.add_argument("--no-second-pass", action="store_true", help="skip the re-alignment after the call")
        p.add_argument("--tenant", default="local", help="whose rubric the call uses (default: %(default)s)")
        p.add_argument(
            "--trade", choices=sorted(TRADES), help="the visit's trade: its starter rubric when the tenant has none"
        )
        p.add_argument("--no-coach", action="store_true", help="transcribe only, no live coach")
        p.add_argument("--no-llm", action="store_true", help="coach with the fast stages only (stricter)")
        p.add_argument("--no-watch", action="store_true", help="nudges to the terminal only, not to the paired watch")
        p.add_argument(
            "--vad", choices=("silero", "webrtc"), default="silero",
            help="voice activity detector: Silero (default) or WebRTC's, cheaper but with more false alarms in noise",
        )  # fmt: skip

    replay = sub.add_parser("replay", help="run the edge pipeline on an audio file as if it were live")
    replay.add_argument("wav", type=Path)
    replay.add_argument("--realtime", action="store_true", help="pace the audio at the speed of speech")
    recording(replay)

    live = sub.add_parser("live", help="run the edge pipeline on the microphone (Ctrl-C ends the call)")
    live.add_argument("--device", help="input device name or index (default: the system's)")
    live.add_argument("--rate", type=int, help="capture rate in Hz (default: the device's own)")
    live.add_argument("--seconds", type=float, help="stop after this many seconds")
    live.add_argument("--list-devices", action="store_true", help="list input devices and exit")
    recording(live)

    enroll = sub.add_parser("enroll", help="store a rep's voiceprint from a clip of them talking alone")
    enroll.add_argument("--rep", required=True)
    source = enroll.add_mutually_exclusive_group(required=True)
    source.add_argument("--wav", type=Path, help="a recording of the rep alone (20 s or more is best)")
    source.add_argument("--mic", action="store_true", help="record the rep from the microphone")
    enroll.add_argument("--seconds", type=float, default=25.0, help="with --mic: how long to record")
    enroll.add_argument("--device", help="with --mic: input device name or index")
    common(enroll)

    calls = sub.add_parser("calls", help="the calls in the store")
    csub = calls.add_subparsers(dest="calls_command", required=True)
    listing = csub.add_parser("list", help="every call, newest last")
    listing.add_argument("--json", action="store_true")
    common(listing)
    show = csub.add_parser("show", help="one call's transcript")
    show.add_argument("call_id")
    show.add_argument("--pass", dest="pass_", choices=("online", "second"), default="second")
    show.add_argument("--json", action="store_true")
    common(show)


def run(args: argparse.Namespace) -> int:
    if args.command == "calls":
        return _calls(args)
    if args.command == "live" and args.list_devices:
        from edge.mic import input_devices

        for d in input_devices():
            print(f"{d['index']:3d}  {d['name']}  ({int(d['default_samplerate'])} Hz)")
        return 0
    console = _console()
    store = CallStore(args.db)
    try:
        for call_id in store.recover_interrupted():
            console.print(f"[bold]recovered[/] call {call_id}, interrupted earlier: everything it stored is kept")
        if args.command == "enroll":
            return _enroll(args, store, console)
        return _record(args, store, console)
    finally:
        store.close()


def _record(args: argparse.Namespace, store: CallStore, console: Console) -> int:
    from edge.call_runner import RunnerSettings
    from edge.enrollment import VoiceprintBook
    from edge.recording import record_call
    from edge.speech_models import SpeechModels
    from models.store import ModelStore

    voiceprint = VoiceprintBook(store).get(args.rep) if args.rep else None  # fails before any model loads
    rubric = _pin_rubric(args.tenant, args.trade, console)
    models = SpeechModels(ModelStore(), args.asr)
    models.load()  # now: a missing model fails before the call starts, not at its first words
    coach = None
    if not args.no_coach:
        from edge.coach.models import CoachModels

        coach = CoachModels(ModelStore(), use_llm=not args.no_llm)
        coach.load()
        if voiceprint is None:
            console.print("[yellow]live coach: no rep enrolled on this call (--rep), so it cannot tell who is who[/]")
        if coach.llm_unavailable:
            console.print(f"[yellow]live coach: fast stages only, stricter thresholds[/] (LLM {coach.llm_unavailable})")
    stop = None
    source: AudioSource
    if args.command == "replay":
        from edge.sources import WavSource, WavSourceSettings

        wav_source = WavSource(args.wav, WavSourceSettings(realtime=args.realtime))
        source, name = wav_source, str(args.wav)
        console.print(
            f"replaying {args.wav} ({wav_source.duration_s:.1f} s)" + (" in real time" if args.realtime else "")
        )
    else:
        from edge.mic import MicSettings, MicSource

        mic = MicSource(MicSettings(device=_device(args.device), rate_hz=args.rate, max_s=args.seconds))
        source, name, stop = mic, f"mic:{mic.device_name}", mic.stop
        console.print(f"listening on {mic.device_name} at {mic.rate_hz} Hz; Ctrl-C ends the call")
    result = record_call(
        store,
        models,
        source,
        name,
        voiceprint=voiceprint,
        on_utterance=lambda u: console.print(format_utterance(u)),
        on_call_started=lambda call_id: console.print(f"call {call_id} → {args.db}\n"),
        second_pass=not args.no_second_pass,
        stop=stop,
        coach=coach,
        trade=args.trade,
        on_nudge=lambda f: console.print(format_nudge(f)),
        open_watch=None if args.no_watch else _watch_opener(console),
        rubric=rubric,
        settings=_pipeline_settings(args.vad),
        runner_settings=RunnerSettings(tenant=args.tenant),
    )
    stats = result.stats
    rtf = stats.busy_s / result.end_s if result.end_s else 0.0
    console.print(f"\n{result.utterances} utterances from {result.end_s:.1f} s of audio (pipeline RTF {rtf:.2f})")
    if result.second_pass is not None:
        second = result.second_pass
        changed = len({old.id for old, _ in second.changed})
        console.print(
            f"second pass: {len(second.utterances)} utterances, {changed} online ones relabelled or cut,"
            f" {len(second.recovered)} recovered where the online pass heard no speech"
        )
    console.print(f"stored as call [bold]{result.call_id}[/] in {args.db}: `ridealong calls show {result.call_id}`")
    return 0


def _pipeline_settings(vad: str) -> PipelineSettings:
    from edge.segmenter import SegmenterSettings
    from edge.speech_pipeline import PipelineSettings
    from models.vad import VadSettings

    return PipelineSettings(segmenter=SegmenterSettings(vad=VadSettings(engine=vad)))  # type: ignore[arg-type]


def _pin_rubric(tenant: str, trade: str | None, console: Console) -> Any:
    """The rubric this call uses, from the device's cache (the tenant's active version, else the trade's
    starter); fixed for the whole call."""
    from edge.cli_rubric import default_rubric_db
    from rubric_cache.cache import EdgeRubricCache
    from rubric_cache.store import RubricStore

    rubrics = RubricStore(default_rubric_db())
    try:
        url, token = os.environ.get("RIDEALONG_CLOUD_URL"), os.environ.get("RIDEALONG_CLOUD_TOKEN")
        if url and token:  # with signal, the tenant's newest active rubric first; without, the cached one
            from cloud_sync.client import SyncClient, SyncError, SyncSettings

            try:
                with SyncClient(url, token, SyncSettings(timeout_s=PULL_TIMEOUT_S)) as client:
                    pulled = EdgeRubricCache(rubrics, client).refresh(tenant)
                why = pulled.offline
            except SyncError as exc:  # a refused token must not cost the rep their coaching
                why = str(exc)
            if why:
                console.print(f"[dim]rubric: could not ask the cloud ({_escape(why)}); using the cached one[/]")
        pinned = EdgeRubricCache(rubrics).pin(tenant, trade)
    finally:
        rubrics.close()
    if pinned is None:
        console.print(f"[dim]rubric: tenant {tenant} has none and no --trade was given: no step is checked live[/]")
    else:
        console.print(f"rubric: {pinned.ref} ({len(pinned.content.steps)} steps), fixed for this call")
    return pinned


def _watch_opener(console: Console) -> Callable[[], Awaitable[WatchLink]]:
    """The paired watch, or the console (saying why) when there is none or it does not answer."""
    from edge.cli_watch import default_watch_file
    from haptics.factory import open_watch_link
    from haptics.paired import PairedWatchFile

    async def open_link() -> WatchLink:
        choice = await open_watch_link(PairedWatchFile(default_watch_file()).load(), console.file)
        if choice.fallback_reason:
            console.print(f"[dim]watch: {_escape(choice.fallback_reason)}; nudges are shown here[/]")
        else:
            console.print(f"watch: {_escape(choice.link.name)} connected; nudges go to the wrist")
        return choice.link

    return open_link


def _enroll(args: argparse.Namespace, store: CallStore, console: Console) -> int:
    from edge.audio_file import read_audio
    from edge.enrollment import VoiceprintBook
    from edge.speech_models import SpeechModels
    from models.store import ModelStore

    models = SpeechModels(ModelStore())
    if args.wav:
        clip = read_audio(args.wav)
        samples, source = clip.samples, str(args.wav)
    else:
        samples, source = _record_mic(args, console), "mic"
    voiceprint = models.voiceprint(args.rep, samples, source)
    VoiceprintBook(store).save(voiceprint)
    console.print(
        f"enrolled {args.rep}: {voiceprint.speech_s:.1f} s of speech, consistency {voiceprint.consistency:.2f} "
        f"→ {args.db}"
    )
    return 0


def _record_mic(args: argparse.Namespace, console: Console) -> Any:
    import asyncio

    import numpy as np

    from edge.mic import MicSettings, MicSource

    mic = MicSource(MicSettings(device=_device(args.device), max_s=args.seconds))
    console.print(f"recording {args.seconds:.0f} s from {mic.device_name}: talk as you would to a customer")

    async def capture() -> Any:
        return np.concatenate([chunk.samples async for chunk in mic])

    return asyncio.run(capture())


def last_call_id(db: Path) -> str:
    store = CallStore(db)
    try:
        return store.calls()[-1].id
    finally:
        store.close()


def _device(value: str | None) -> str | int | None:
    return int(value) if value is not None and value.isdigit() else value


def format_utterance(u: Utterance) -> str:
    style = ROLE_STYLE[u.role]
    if u.speaker_confidence < LOW_CONFIDENCE:
        style = f"dim {style}"
    when = f"{_clock(u.start_s)}–{_clock(u.end_s)}"
    who = f"{u.role.value.upper():8} {u.speaker_id:6} {u.speaker_confidence:.2f}"
    words = "[italic](talking over the other speaker)[/italic]" if u.is_cross_talk else _escape(u.text)
    return f"[{style}]\\[{when}] {who}  {words}[/]"


def _escape(text: str) -> str:
    return text.replace("[", "\\[")


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60):02d}:{seconds % 60:04.1f}"


def _console() -> Console:
    from rich.console import Console  # rich is a CLI nicety: `import edge.cli` must not need it

    return Console(highlight=False, soft_wrap=True)


def format_nudge(fired: FiredNudge) -> str:
    from rich.markup import escape

    m = fired.nudge.moment
    cited = escape(f"[{', '.join(m.utterance_ids)}]")
    return (
        f"[bold red]  ⟶ nudge[/] [bold]{m.type}[/] ({fired.nudge.pattern}) at {m.at_s:.1f} s, "
        f"confidence {m.confidence:.2f}: {escape(fired.decision.candidate.reason)} [dim]{cited}[/]"
    )


def _calls(args: argparse.Namespace) -> int:
    console = _console()
    store = CallStore(args.db)
    try:
        if args.calls_command == "list":
            return _list(store, console, args.json)
        return _show(store, console, args.call_id, args.pass_, args.json)
    finally:
        store.close()


def _list(store: CallStore, console: Console, as_json: bool) -> int:
    calls = store.calls()
    if as_json:
        print(json.dumps([asdict(c) for c in calls]))
        return 0
    from rich.table import Table

    table = Table("call", "started", "status", "length", "rep", "utterances", "source")
    for c in calls:
        count = len(store.utterances(c.id))
        length = f"{c.end_s / 60:.1f} min" if c.end_s is not None else "-"
        table.add_row(c.id, c.started_at[:19], c.status, length, c.rep_id or "-", str(count), c.source)
    console.print(table)
    return 0


def _show(store: CallStore, console: Console, call_id: str, pass_: str, as_json: bool) -> int:
    record = store.get(call_id)
    utterances = store.utterances(call_id, pass_)
    if pass_ == "second" and not utterances:
        pass_, utterances = "online", store.utterances(call_id)  # no second pass was run
    from rich.markup import escape

    nudges = store.nudges(call_id)
    if as_json:
        out = {"call": asdict(record), "pass": pass_, "utterances": [_as_dict(u) for u in utterances], "nudges": nudges}
        print(json.dumps(out))
        return 0
    console.print(f"call {record.id} ({record.status}, {record.source}), {pass_} pass\n")
    for u in utterances:
        console.print(format_utterance(u))
    if nudges:
        console.print(f"\n{len(nudges)} nudges from the live coach:")
        for n in nudges:
            cited = escape(f"[{', '.join(n['utterance_ids'])}]")
            line = f"  {n['at_s']:7.1f} s  [bold]{n['type']}[/] ({n['confidence']:.2f}): {escape(n['reason'])}"
            console.print(f"{line} [dim]{cited}[/]")
    return 0


def _as_dict(u: Utterance) -> dict[str, Any]:
    d = asdict(u)
    d["role"] = u.role.value
    d.pop("t_mono_ns")
    return d
