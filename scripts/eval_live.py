"""Live-coach evaluation: labelled conversations replayed through the coach, nudges scored.

    .venv/bin/python scripts/eval_live.py --split dev|test [--calls ID,...] [--no-llm] [--verbose]
    .venv/bin/python scripts/eval_live.py --data DIR [...]

Text mode: each conversation's utterances reach the coach at their end times (audio time advancing
in 200 ms ticks), with their labelled speakers and full speaker confidence; timings come from the
rendered corpus when it exists (``$RIDEALONG_HOME/corpus/neural/clean``), else are estimated from
the words. Audio mode (``--audio CONDITION``) plays that condition's renders and times the labels by
the same renders (a call with no clean render would otherwise be scored against estimated seconds). A
nudge catches a labelled moment if it fires between the start of the labelled
utterance (less the type's ``lead_s``) and the type's ``hit_window_s`` after its end (``scripts/live_eval/scoring.py``).

Stored-transcript mode (``--audio CONDITION --from-stores DIR``): the utterances an earlier audio run kept
(``--keep DIR``) replayed through the coach as in text mode, with the words, speakers and confidences the
pipeline gave them. No recogniser runs, so a change to the coach is re-scored on room audio's transcripts in
about a minute instead of half an hour; the pipeline's own delays are not in it (latencies are text mode's).

Reports per type and overall precision, recall and F1, false nudges per hour of conversation, and
nudge latency (from the moment a nudge became decidable — its triggering utterance's end, or the
deadline an objection or question went unaddressed — to sent) p50/p95, in audio time plus the
coach's own processing time. The last line of stdout is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from edge.audio_file import read_audio
from edge.call_store import CallStore
from edge.coach.coach import FiredNudge, LiveCoach
from edge.coach.confirmer import InlineConfirmations
from edge.coach.models import CoachModels
from edge.frames import Role, Utterance
from edge.recording import record_call
from edge.sources import WavSource, WavSourceSettings
from edge.speech_models import SpeechModels
from models.loaders import DEFAULT_ASR
from models.store import ModelStore
from scripts.figures import percentile
from scripts.live_eval.conversations import Conversation, load
from scripts.live_eval.scoring import FiredAt, Score

ROOT = Path(__file__).resolve().parents[1]
CALLS = ROOT / "tests" / "corpus" / "calls"
SPLITS = ROOT / "tests" / "corpus" / "splits.json"
TICK_S = 0.2
TAIL_S = 40.0  # audio time replayed after the last utterance, so deadlines still expire


@dataclass(frozen=True)
class Replay:
    nudges: list[FiredAt]
    processing_s: float
    llm_calls: int


def rep_is_speaking(utterances: Sequence[Utterance], now_s: float) -> bool:
    """Whether a rep utterance covers ``now_s`` (the replay knows the whole timeline)."""
    return any(u.role == Role.REP and u.start_s <= now_s < u.end_s for u in utterances)


def speech_since(utterances: Sequence[Utterance], now_s: float) -> float | None:
    """Where the latest-begun utterance going on at ``now_s`` began, as the live VAD would tell (None: silence)."""
    return max((u.start_s for u in utterances if u.start_s <= now_s < u.end_s), default=None)


def replay_text(conversation: Conversation, coach: LiveCoach) -> Replay:
    """Utterances reach the coach as they end; timers see audio time pass in 200 ms ticks."""
    pending = sorted(conversation.utterances, key=lambda u: (u.end_s, u.id))
    fired: list[FiredAt] = []
    started, t, i = time.perf_counter(), 0.0, 0
    while t <= conversation.duration_s + TAIL_S:
        speaking = rep_is_speaking(conversation.utterances, t)
        out = []
        while i < len(pending) and pending[i].end_s <= t:
            out += coach.observe(pending[i], speaking)
            i += 1
        out += coach.tick(t, speaking, speech_since(conversation.utterances, t))
        fired += [FiredAt(f.nudge.moment.type, f.sent_s, f.sent_s - f.decision.candidate.at_s, _why(f)) for f in out]
        t = round(t + TICK_S, 3)
    coach.close()
    llm_calls = sum(1 for d in coach.gate.log if d.verdict is not None)
    return Replay(fired, time.perf_counter() - started, llm_calls)


def replay_audio(
    wav: Path,
    trade: str,
    speech: SpeechModels,
    coach: CoachModels,
    realtime: bool,
    enroll: bool,
    keep: Path | None = None,
) -> Replay:
    """The rendered call through the whole edge pipeline (VAD, Whisper, attribution with the rep enrolled)
    with the coach watching; nudges scored by when they were sent. Latency is wall time, so only
    meaningful with ``realtime``. ``keep``: a folder where the call's store stays (``<call>.db``: its
    utterances, nudges and every candidate the gate weighed), instead of a temporary one."""
    enroll_wav = Path(f"{wav.with_suffix('')}.enroll.wav")
    voiceprint = None
    if enroll and enroll_wav.exists():
        voiceprint = speech.voiceprint("rep", read_audio(enroll_wav).samples, str(enroll_wav))
    fired: list[FiredNudge] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        store = CallStore(keep / f"{wav.stem}.db" if keep else Path(tmp) / "calls.db")
        source = WavSource(wav, WavSourceSettings(realtime=realtime, tail_s=TAIL_S))
        result = record_call(
            store, speech, source, str(wav), voiceprint, second_pass=False, coach=coach, trade=trade,
            on_nudge=fired.append,
        )  # fmt: skip
        store.close()
    latencies = list(result.nudge_latencies_s) if realtime else [f.sent_s - f.decision.candidate.at_s for f in fired]
    nudges = [FiredAt(f.nudge.moment.type, f.sent_s, lat, _why(f)) for f, lat in zip(fired, latencies, strict=True)]
    return Replay(nudges, time.perf_counter() - started, sum(1 for f in fired if f.decision.verdict is not None))


def replay_store(db: Path, conversation: Conversation, coach: LiveCoach) -> Replay:
    """The online utterances of a store kept by an audio run, reaching the coach as text mode's do."""
    store = CallStore(db)
    try:
        [call] = store.calls()
        heard = tuple(sorted(store.utterances(call.id), key=lambda u: (u.start_s, u.id)))
    finally:
        store.close()
    return replay_text(replace(conversation, utterances=heard), coach)


def _why(f: FiredNudge) -> str:
    return f"{f.decision.candidate.reason} [{', '.join(f.nudge.moment.utterance_ids)}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--split", choices=("dev", "test"))
    source.add_argument("--data", type=Path, nargs="+", help="folders of conversation JSON files")
    parser.add_argument(
        "--rendered", type=Path, help="renders whose timings the labels take (default: --audio's, else clean)"
    )
    parser.add_argument("--calls", help="only these call ids (comma-separated)")
    parser.add_argument("--no-llm", action="store_true", help="fast stages only (as when the model is missing)")
    parser.add_argument("--audio", metavar="CONDITION", help="audio mode: the rendered calls of this condition")
    parser.add_argument("--realtime", action="store_true", help="audio mode paced as live (nudge latency)")
    parser.add_argument("--asr", default=DEFAULT_ASR, help="audio mode's ASR model (see `ridealong models list`)")
    parser.add_argument("--keep", type=Path, help="audio mode: keep each call's store here (<call>.db)")
    parser.add_argument(
        "--from-stores", type=Path, metavar="DIR", help="with --audio: replay the transcripts a --keep run stored"
    )
    parser.add_argument("--corpus", type=Path, default=ModelStore().settings.home / "corpus" / "neural")
    parser.add_argument("--verbose", action="store_true", help="list every false nudge and missed moment")
    args = parser.parse_args(argv)

    if args.split:
        files = [CALLS / f"{i}.json" for i in json.loads(SPLITS.read_text())[args.split]]
    else:
        files = sorted(p for d in args.data for p in d.glob("*.json"))
    if args.calls:
        wanted = set(args.calls.split(","))
        if unknown := wanted - {f.stem for f in files}:
            parser.error(f"no such call: {', '.join(sorted(unknown))}")
        files = [f for f in files if f.stem in wanted]
    if not files:
        parser.error("no conversation files")
    if args.from_stores and not args.audio:
        parser.error("--from-stores needs --audio CONDITION: the condition the stores were recorded in")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        if stale := sorted(args.keep.glob("*.db")):
            parser.error(f"{args.keep} already holds stores ({stale[0].name}, ...): give an empty folder")
    store = ModelStore()
    coach_models = CoachModels(store, use_llm=not args.no_llm)
    coach_models.load()
    confirmer = coach_models.confirmer
    speech = SpeechModels(store, args.asr) if args.audio and not args.from_stores else None
    score, latencies, hours, processing, llm_calls = Score(), [], 0.0, 0.0, 0
    rendered = args.rendered or args.corpus / (args.audio or "clean")
    for path in files:
        conversation = load(path, rendered)
        if args.audio and conversation.timed_by == "estimate":
            parser.error(f"no {args.audio} render of {conversation.id} in {rendered}: render the corpus first")
        if speech is not None:
            wav = args.corpus / args.audio / f"{conversation.id}.wav"
            replay = replay_audio(wav, conversation.trade, speech, coach_models, args.realtime, True, args.keep)
        else:
            confirmations = InlineConfirmations(confirmer) if confirmer else None
            coach = LiveCoach(conversation.id, conversation.trade, coach_models.semantic, confirmations)
            if args.from_stores:
                db = args.from_stores / f"{conversation.id}.db"
                if not db.is_file():
                    parser.error(f"no store {db}: keep one with --audio {args.audio} --keep {args.from_stores}")
                replay = replay_store(db, conversation, coach)
            else:
                replay = replay_text(conversation, coach)
        score.add(conversation.id, conversation.moments, replay.nudges)
        latencies += [n.latency_s for n in replay.nudges]
        hours += conversation.duration_s / 3600
        processing += replay.processing_s
        llm_calls += replay.llm_calls
        print(f"{conversation.id:12} {conversation.duration_s / 60:5.1f} min  {len(conversation.moments):2} moments  "
              f"{len(replay.nudges):2} nudges  (times: {conversation.timed_by})", flush=True)  # fmt: skip
    summary = summarise(score, latencies, hours, processing / max(1, len(files)), llm_calls, confirmer is not None)
    mode = (f"audio:{args.audio} {args.asr}" + (" realtime" if args.realtime else "")) if args.audio else "text"
    mode = f"stored transcripts:{args.audio} ({args.from_stores})" if args.from_stores else mode
    summary["overall"]["mode"] = mode  # type: ignore[index]
    print_table(score, summary)
    if args.verbose:
        for call_id, n in score.false_nudges:
            print(f"  false  {call_id} {n.type} at {n.fire_s:.1f} s: {n.reason}")
        for call_id, m in score.missed:
            print(f"  missed {call_id} {m.type} at {m.utterance_id} ({m.start_s:.1f}-{m.end_s:.1f} s)")
    print(json.dumps(summary))
    return 0


def summarise(
    score: Score, latencies: list[float], hours: float, processing_s: float, llm_calls: int, llm: bool
) -> dict[str, object]:
    total = score.overall()
    per_type = {
        t: {"moments": c.moments, "nudges": c.nudges, "hits": c.caught, "precision": _r(c.precision),
            "recall": _r(c.recall), "f1": _r(c.f1), "latency_p95_s": percentile(c.latencies_s, 95)}
        for t, c in score.per_type.items()
    }  # fmt: skip
    return {
        "overall": {
            "precision": _r(total.precision),
            "recall": _r(total.recall),
            "f1": _r(total.f1),
            "false_nudges_per_hour": round(len(score.false_nudges) / hours, 2) if hours else None,
            "latency_p50_s": percentile(latencies, 50),
            "latency_p95_s": percentile(latencies, 95),
            "moments": total.moments,
            "nudges": total.nudges,
            "hours": round(hours, 3),
            "llm": llm,
            "llm_confirmations": llm_calls,
            "processing_s_per_call": round(processing_s, 2),
        },
        "per_type": per_type,
    }


def print_table(score: Score, summary: dict[str, object]) -> None:
    print(f"\n{'type':30} {'moments':>7} {'nudges':>6} {'hits':>4} {'P':>5} {'R':>5} {'F1':>5} {'p95 s':>6}")
    for t, c in score.per_type.items():
        p95 = percentile(c.latencies_s, 95)
        print(f"{t:30} {c.moments:7} {c.nudges:6} {c.caught:4} {_f(c.precision)} {_f(c.recall)} {_f(c.f1)} "
              f"{p95 if p95 is not None else '-':>6}")  # fmt: skip
    overall = summary["overall"]
    print("\noverall: " + ", ".join(f"{k}={v}" for k, v in overall.items()))  # type: ignore[attr-defined]


def _f(x: float | None) -> str:
    return f"{x:5.2f}" if x is not None else "    -"


def _r(x: float | None) -> float | None:
    return round(x, 3) if x is not None else None


if __name__ == "__main__":
    sys.exit(main())
