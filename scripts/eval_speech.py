"""Speech evaluation harness: the edge pipeline on labelled recordings, scored.

    .venv/bin/python scripts/eval_speech.py --data DIR [DIR ...] [--split dev|test] [--calls ID,...] [--realtime]
        [--no-enroll] [--online-only] [--keep STORES_DIR | --from-stores STORES_DIR]

Each DIR holds ``<id>.wav`` + ``<id>.rttm``, optionally ``<id>.stm`` (reference words),
``<id>.roles.json`` (RTTM speaker → rep/customer/other) and ``<id>.enroll.wav`` (the rep's
enrollment clip). Every file goes through the real pipeline (WavSource → VAD → attribution →
Whisper → call store in a temporary SQLite file), then the second pass. Reported per file and
overall: DER (pyannote.metrics, overlap scored, collar 0.25 s and 0) for both passes, WER (jiwer
after Whisper's normaliser), role accuracy (share of reference speech time with the right role),
the reliability of the speaker confidence, real-time factors (processor time per audio second: the
cost on one core), and with ``--realtime`` the end of speech → utterance latency (where a speaker
stopped: a pause, or another speaker taking over) and, apart, the lag of pieces cut by length from
speech that goes on. The last line of stdout is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyannote.core import Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from edge.audio_file import read_audio
from edge.call_store import CallStore
from edge.enrollment import Voiceprint
from edge.frames import Utterance
from edge.realign import realign_call
from edge.recording import record_call
from edge.sources import WavSource, WavSourceSettings
from edge.speech_models import SpeechModels
from models.store import ModelStore
from scripts.figures import percentile
from scripts.speech_eval.labels import read_rttm, read_stm
from scripts.speech_eval.metrics import (
    hypothesis,
    reliability,
    role_time,
    utterance_role_correct,
    word_errors,
)

SPLITS = Path(__file__).resolve().parents[1] / "tests" / "corpus" / "splits.json"
COLLARS = {"c25": 0.25, "c0": 0.0}


@dataclass
class FileResult:
    file: str
    audio_s: float
    der_online: float
    der_online_c0: float
    der_second_pass: float | None
    der_second_pass_c0: float | None
    wer: float | None
    role_accuracy: float | None
    role_accuracy_second_pass: float | None
    rtf: float | None
    rtf_second_pass: float | None
    utterances: int
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    piece_lag_p95_s: float | None = None
    """Open speech cut by length → its words final (not an end of speech; see ``PipelineStats``)."""
    enrolled: bool = False
    rep_accuracy: float | None = None
    """Like role accuracy, with customer and other counted as one: rep or not."""
    rep_accuracy_second_pass: float | None = None


@dataclass
class Totals:
    der: dict[str, DiarizationErrorRate] = field(
        default_factory=lambda: {
            f"{p}_{c}": DiarizationErrorRate(collar=v, skip_overlap=False)
            for p in ("online", "second")
            for c, v in COLLARS.items()
        }
    )
    word_errors: int = 0
    reference_words: int = 0
    role_right: dict[str, float] = field(default_factory=lambda: {"online": 0.0, "second": 0.0})
    role_lost: dict[str, dict[str, float]] = field(
        default_factory=lambda: {p: {"missed": 0.0, "overlapped": 0.0, "wrong": 0.0} for p in ("online", "second")}
    )
    """Per pass, reference speech time not right, by why (see ``metrics.RoleTime``)."""
    rep_right: dict[str, float] = field(default_factory=lambda: {"online": 0.0, "second": 0.0})
    role_total: float = 0.0
    audio_s: float = 0.0
    online_wall_s: float | None = 0.0
    """Processor seconds of the online pass; None when some file was scored from a kept store."""
    second_wall_s: float = 0.0
    second_pass_ran: bool = True
    latencies_s: list[float] = field(default_factory=list)
    piece_lags_s: list[float] = field(default_factory=list)
    confidence_pairs: list[tuple[float, bool]] = field(default_factory=list)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--split", choices=("dev", "test"), help="only the corpus calls of this split")
    parser.add_argument("--calls", help="only these call ids (comma-separated)")
    parser.add_argument("--realtime", action="store_true", help="pace audio as a microphone would (latency)")
    parser.add_argument("--no-enroll", action="store_true", help="ignore enrollment clips (unenrolled path)")
    parser.add_argument("--asr", default="whisper-tiny.en")
    parser.add_argument("--online-only", action="store_true", help="skip the second pass (its figures print as -)")
    parser.add_argument("--keep", type=Path, help="keep each call's SQLite store here, as <condition>-<id>.db")
    parser.add_argument(
        "--from-stores", type=Path, help="score the stores a --keep run left here instead of running the pipeline"
    )
    args = parser.parse_args(argv)

    wanted = set(json.loads(SPLITS.read_text())[args.split]) if args.split else None
    files = [w for d in args.data for w in sorted(d.glob("*.wav")) if not w.name.endswith(".enroll.wav")]
    files = [w for w in files if wanted is None or w.stem in wanted]
    if args.calls:
        files = [w for w in files if w.stem in args.calls.split(",")]
    if not files:
        parser.error(f"no <id>.wav files in {', '.join(map(str, args.data))}")
    models = SpeechModels(ModelStore(), args.asr) if args.from_stores is None else None
    overall_totals = Totals()
    by_folder: dict[str, Totals] = {}
    results = []
    print(f"{'file':34} {'min':>5} {'DERon':>6} {'DER2':>6} {'WER':>6} {'role':>6} {'role2':>6} {'RTF':>5} {'RTF2':>5}")
    for wav in files:
        if models is not None:
            run = run_pipeline(wav, models, args.realtime, not args.no_enroll, args.keep, not args.online_only)
        else:
            run = load_run(wav, args.from_stores)
        result = score(wav, run, [overall_totals, by_folder.setdefault(str(wav.parent), Totals())])
        results.append(result)
        print(_row(result), flush=True)
    overall = summarise(overall_totals)
    folders = {folder: summarise(t) for folder, t in by_folder.items()} if len(by_folder) > 1 else {}
    for folder, summary in folders.items():
        print(f"\n{folder}: " + ", ".join(f"{k}={v}" for k, v in summary.items() if not isinstance(v, list)))
    print("\noverall: " + ", ".join(f"{k}={v}" for k, v in overall.items() if not isinstance(v, list)))
    print("speaker-confidence reliability (utterances, role right):")
    for b in cast(list[dict[str, float]], overall["reliability"]):
        print(f"  [{b['low']:.1f}, {b['high']:.1f})  n={b['count']:4d}  confidence {b['mean_confidence']:.2f}  "
              f"accuracy {b['accuracy']:.2f}")  # fmt: skip
    print(json.dumps({"files": [asdict(r) for r in results], "folders": folders, "overall": overall}))
    return 0


@dataclass
class Run:
    """What one file's run left to score: the passes' utterances and what the pipeline measured."""

    passes: dict[str, list[Utterance]]
    audio_s: float
    enrolled: bool
    cpu_s: float | None = None
    """None when scored from kept stores: the processor time was not stored."""
    second_wall_s: float | None = None
    latencies_s: list[float] = field(default_factory=list)
    piece_lags_s: list[float] = field(default_factory=list)


def run_pipeline(
    wav: Path, models: SpeechModels, realtime: bool, enroll: bool, keep: Path | None, second_pass: bool
) -> Run:
    enroll_path = Path(f"{wav.with_suffix('')}.enroll.wav")
    voiceprint = _enroll(models, enroll_path) if enroll and enroll_path.exists() else None
    with tempfile.TemporaryDirectory() as tmp:
        store = CallStore(Path(tmp) / "calls.db")
        source = WavSource(wav, WavSourceSettings(realtime=realtime))
        outcome = record_call(store, models, source, str(wav), voiceprint, second_pass=False)
        run = Run({"online": store.utterances(outcome.call_id)}, outcome.end_s, voiceprint is not None)
        run.cpu_s = outcome.stats.cpu_s
        if realtime:  # unpaced, "latency" is only how far the pipeline ran ahead of the audio
            run.latencies_s, run.piece_lags_s = outcome.stats.latencies_s, outcome.stats.piece_lags_s
        if second_pass:
            started = time.perf_counter()
            realign_call(store, outcome.call_id, models.realigner(), voiceprint)
            run.second_wall_s = time.perf_counter() - started
            run.passes["second"] = store.utterances(outcome.call_id, "second")
        store.close()
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(tmp) / "calls.db", _kept(keep, wav))
    return run


def load_run(wav: Path, stores: Path) -> Run:
    """The passes a run with ``--keep`` stored for this file, to score again without running the pipeline."""
    path = _kept(stores, wav)
    if not path.is_file():
        raise SystemExit(f"no kept store {path}: run with --keep {stores} first")
    store = CallStore(path)
    try:
        (record,) = store.calls()
        passes = {"online": store.utterances(record.id)}
        second = store.utterances(record.id, "second")
        if second:
            passes["second"] = second
        ended = [e for e in store.events(record.id) if e["kind"] == "call_ended"]
        audio_s = float(ended[-1]["end_s"])
        enrolled = record.rep_id is not None
    finally:
        store.close()
    return Run(passes, audio_s, enrolled)


def _kept(stores: Path, wav: Path) -> Path:
    return stores / f"{wav.parent.name}-{wav.stem}.db"


def score(wav: Path, run: Run, totals: Sequence[Totals]) -> FileResult:
    """The file's figures, added to each of ``totals`` (the overall ones and its folder's)."""
    stem = wav.with_suffix("")
    reference = read_rttm(stem.with_suffix(".rttm"))
    roles_path, stm_path = Path(f"{stem}.roles.json"), stem.with_suffix(".stm")
    roles: dict[str, str] | None = json.loads(roles_path.read_text()) if roles_path.exists() else None
    audio_s, online = run.audio_s, run.passes["online"]
    uem = Timeline([Segment(0.0, audio_s)])
    hypotheses = {pass_: hypothesis(utterances) for pass_, utterances in run.passes.items()}
    ders: dict[str, float] = {}
    for t in totals:  # each accumulator must see the file once; each gives the same figure for it
        for name, metric in t.der.items():
            if (pass_ := name.split("_")[0]) in hypotheses:
                ders[name] = float(metric(reference, hypotheses[pass_], uem=uem))
    errors = word_errors(read_stm(stm_path), online) if stm_path.exists() else None
    right: dict[str, float] = {}
    rep_right: dict[str, float] = {}
    lost: dict[str, dict[str, float]] = {}
    total = 0.0
    pairs: list[tuple[float, bool]] = []
    if roles:
        for pass_, utterances in run.passes.items():
            parts = role_time(reference, roles, utterances)
            right[pass_], total = parts.right, parts.total
            lost[pass_] = {"missed": parts.missed, "overlapped": parts.overlapped, "wrong": parts.wrong}
            rep_right[pass_] = role_time(reference, roles, utterances, rep_only=True).right
        for u in online:
            correct = utterance_role_correct(reference, roles, u)
            if correct is not None:
                pairs.append((u.speaker_confidence, correct))
    for t in totals:
        if errors is not None:
            t.word_errors += errors.substitutions + errors.deletions + errors.insertions
            t.reference_words += errors.reference_words
        for pass_ in right:
            t.role_right[pass_] += right[pass_]
            t.rep_right[pass_] += rep_right[pass_]
            for why, seconds in lost[pass_].items():
                t.role_lost[pass_][why] += seconds
        t.role_total += total
        t.confidence_pairs += pairs
        t.audio_s += audio_s
        t.online_wall_s = t.online_wall_s + run.cpu_s if t.online_wall_s is not None and run.cpu_s is not None else None
        t.second_wall_s += run.second_wall_s or 0.0
        t.second_pass_ran = "second" in run.passes
        t.latencies_s += run.latencies_s
        t.piece_lags_s += run.piece_lags_s
    role_acc = {pass_: value / total for pass_, value in right.items()}
    rep_acc = {pass_: value / total for pass_, value in rep_right.items()}
    return FileResult(
        file=f"{wav.parent.name}/{wav.stem}",
        audio_s=round(audio_s, 1),
        der_online=_pct(ders["online_c25"]),
        der_online_c0=_pct(ders["online_c0"]),
        der_second_pass=_pct_or_none(ders.get("second_c25")),
        der_second_pass_c0=_pct_or_none(ders.get("second_c0")),
        wer=_pct_or_none(errors.wer if errors is not None else None),
        role_accuracy=_round(role_acc.get("online")),
        role_accuracy_second_pass=_round(role_acc.get("second")),
        # Processor time, not wall time: paced at real time the wall clock says nothing about cost, and Whisper
        # runs beside attribution on the second core. RTF is the cost on one core.
        rtf=round(run.cpu_s / audio_s, 3) if run.cpu_s is not None else None,
        rtf_second_pass=round(run.second_wall_s / audio_s, 3) if run.second_wall_s is not None else None,
        utterances=len(online),
        latency_p50_s=percentile(run.latencies_s, 50) if run.latencies_s else None,
        latency_p95_s=percentile(run.latencies_s, 95) if run.latencies_s else None,
        piece_lag_p95_s=percentile(run.piece_lags_s, 95) if run.piece_lags_s else None,
        enrolled=run.enrolled,
        rep_accuracy=_round(rep_acc.get("online")),
        rep_accuracy_second_pass=_round(rep_acc.get("second")),
    )


def _enroll(models: SpeechModels, path: Path) -> Voiceprint:
    return models.voiceprint("rep", read_audio(path).samples, str(path))


def summarise(t: Totals) -> dict[str, object]:
    bins, ece = reliability(t.confidence_pairs)
    return {
        "der_online": _pct(abs(t.der["online_c25"])),
        "der_online_c0": _pct(abs(t.der["online_c0"])),
        "der_second_pass": _pct(abs(t.der["second_c25"])) if t.second_pass_ran else None,
        "der_second_pass_c0": _pct(abs(t.der["second_c0"])) if t.second_pass_ran else None,
        "wer": _pct(t.word_errors / t.reference_words) if t.reference_words else None,
        "role_accuracy": _round(t.role_right["online"] / t.role_total) if t.role_total else None,
        "role_accuracy_second_pass": _round(t.role_right["second"] / t.role_total)
        if t.role_total and t.second_pass_ran
        else None,
        "rep_accuracy": _round(t.rep_right["online"] / t.role_total) if t.role_total else None,
        "rep_accuracy_second_pass": _round(t.rep_right["second"] / t.role_total)
        if t.role_total and t.second_pass_ran
        else None,
        "role_lost": _role_lost(t),
        "rtf": round(t.online_wall_s / t.audio_s, 3) if t.online_wall_s is not None else None,
        "rtf_second_pass": round(t.second_wall_s / t.audio_s, 3)
        if t.second_pass_ran and t.online_wall_s is not None
        else None,
        "latency_p50_s": percentile(t.latencies_s, 50),
        "latency_p95_s": percentile(t.latencies_s, 95),
        "latency_n": len(t.latencies_s),
        "piece_lag_p95_s": percentile(t.piece_lags_s, 95),
        "piece_lag_n": len(t.piece_lags_s),
        "audio_h": round(t.audio_s / 3600, 3),
        "confidence_ece": round(ece, 3),
        "reliability": [asdict(b) for b in bins],
    }


def _role_lost(t: Totals) -> dict[str, dict[str, float | None]] | None:
    """Per pass, where the role accuracy short of 1 went, as shares of reference speech time: speech the VAD
    missed, cross-talk given the floor holder's role, and one voice given the wrong role."""
    if not t.role_total:
        return None
    passes = ["online", "second"] if t.second_pass_ran else ["online"]
    return {p: {why: _round(seconds / t.role_total) for why, seconds in t.role_lost[p].items()} for p in passes}


def _row(r: FileResult) -> str:
    def f(v: float | None, spec: str = "6.1f") -> str:
        return format(v, spec) if v is not None else "     -"

    return (
        f"{r.file:34} {r.audio_s / 60:5.1f} {f(r.der_online)} {f(r.der_second_pass)} {f(r.wer)} "
        f"{f(r.role_accuracy, '6.3f')} {f(r.role_accuracy_second_pass, '6.3f')} "
        f"{f(r.rtf, '5.2f')} {f(r.rtf_second_pass, '5.2f')}"
    )


def _pct(x: float) -> float:
    return round(100 * x, 2)


def _pct_or_none(x: float | None) -> float | None:
    return _pct(x) if x is not None else None


def _round(x: float | None) -> float | None:
    return round(x, 3) if x is not None else None


if __name__ == "__main__":
    sys.exit(main())
