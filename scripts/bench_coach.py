"""Live-coach benchmark: what the coach costs beside the speech pipeline, and what its LLM prefix cache buys.

    .venv/bin/python scripts/bench_coach.py [--calls hvac-04,roofing-04,solar-04] [--condition kitchen]
        [--confirmations 10] [--no-realtime]

1. LLM confirmation, cached vs not: the same exchanges (hand-written bank sentences, none from the
   prompt) labelled by Qwen2.5-Coder 1.5B (prompt read on two threads), once with the few-shot prefix's KV state
   primed (only the exchange's tokens are evaluated: how the coach runs) and once evaluating the
   whole prompt every time (no cache). Per confirmation: seconds p50/p95 and prompt tokens evaluated.
2. The whole edge agent in real time: rendered corpus calls paced as a microphone would deliver
   them through VAD, attribution, Whisper and the coach with its LLM worker, each call in its own
   process. Per call: nudge latency (the moment becoming decidable → sent, wall clock) p50/p95,
   processor time per audio second (all threads: the share of this machine's cores the agent
   keeps busy) and peak RSS.

Figures are printed as tables; the last stdout line is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from scripts.figures import percentile

DEFAULT_CALLS = "hvac-04,roofing-04,solar-04"
TAIL_S = 10.0
"""Silence after each call's last word, as a microphone keeps listening: a visit wound down with no next step
is decided 8 s after the goodbye (counted in the audio seconds)."""


def bench_llm(confirmations: int) -> dict[str, object]:
    from edge.coach.confirmer import LlmConfirmer, prompt_prefix, prompt_suffix
    from edge.coach.exemplars import COUNTER_EXEMPLARS, EXEMPLARS
    from edge.coach.taxonomy import MomentType
    from models.llm import LlmSettings
    from models.loaders import load_llm
    from models.store import ModelStore

    store = ModelStore()
    kinds = (MomentType.COMPETITOR_MENTIONED, MomentType.DECISION_MAKER_OBJECTION)
    pool = [(t, s) for t in kinds for s in (*EXEMPLARS[t][:3], *COUNTER_EXEMPLARS[t][:2])]
    asked = pool[:confirmations]
    state_dir = store.settings.home / "llm-state"
    cached_llm = load_llm(store, settings=LlmSettings(state_cache_dir=state_dir, n_threads_batch=2))
    started = time.perf_counter()
    confirmer = LlmConfirmer(cached_llm)
    prime_s = time.perf_counter() - started
    cached = [confirmer.label(t, f'Customer: "{s}"\n').seconds for t, s in asked]
    cached_tokens = len(cached_llm.tokenize(prompt_suffix(f'Customer: "{asked[0][1]}"\n')))
    del cached_llm, confirmer
    plain = load_llm(store, settings=LlmSettings(state_cache_dir=None, n_threads_batch=2))
    uncached, tokens = [], 0
    for t, s in asked:
        plain.forget()  # llama.cpp would otherwise reuse the prefix it evaluated last time
        out = plain.choose(prompt_prefix() + prompt_suffix(f'Customer: "{s}"\n'), [t.value, "none"])
        uncached.append(out.seconds)
        tokens = out.prompt_tokens - out.reused_tokens
    return {
        "confirmations": len(asked),
        "prime_s": round(prime_s, 2),
        "cached_p50_s": percentile(cached, 50),
        "cached_p95_s": percentile(cached, 95),
        "cached_tokens_evaluated": cached_tokens,
        "uncached_p50_s": percentile(uncached, 50),
        "uncached_p95_s": percentile(uncached, 95),
        "uncached_tokens_evaluated": tokens,
    }


def run_call(wav: Path, trade: str, realtime: bool) -> dict[str, object]:
    """One call through the whole agent (a worker process of its own, so its RSS is its own)."""
    from edge.audio_file import read_audio
    from edge.call_store import CallStore
    from edge.coach.models import CoachModels
    from edge.recording import record_call
    from edge.sources import WavSource, WavSourceSettings
    from edge.speech_models import SpeechModels
    from models.store import ModelStore

    store = ModelStore()
    speech, coach = SpeechModels(store), CoachModels(store)
    speech.load()
    coach.load()
    enroll = Path(f"{wav.with_suffix('')}.enroll.wav")
    voiceprint = speech.voiceprint("rep", read_audio(enroll).samples, str(enroll)) if enroll.exists() else None
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        calls = CallStore(Path(tmp) / "calls.db")
        result = record_call(
            calls, speech, WavSource(wav, WavSourceSettings(realtime=realtime, tail_s=TAIL_S)), str(wav), voiceprint,
            second_pass=False, coach=coach, trade=trade,
        )  # fmt: skip
        sent = [(n["type"], n["latency_s"]) for n in calls.nudges(result.call_id)]
        calls.close()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "call": wav.stem,
        "audio_s": round(result.end_s, 1),
        "wall_s": round(wall, 1),
        "cpu_per_audio_s": round(cpu / result.end_s, 3),
        "nudges": len(sent),
        "latencies_s": [round(x, 3) for x in result.nudge_latencies_s],
        "sent": [f"{t} {lat:.2f}s" if lat is not None else t for t, lat in sent],
        "llm": coach.llm_unavailable is None,
        "peak_rss_mb": round(after.ru_maxrss / 1024, 1),
    }


def measure_call(wav: Path, trade: str, realtime: bool) -> dict[str, object]:
    args = [sys.executable, __file__, "--worker", str(wav), trade] + ([] if realtime else ["--no-realtime"])
    out = subprocess.run(args, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"the agent failed on {wav}:\n{out.stderr[-2000:]}")
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", default=DEFAULT_CALLS, help="corpus call ids, comma-separated")
    parser.add_argument("--condition", default="kitchen")
    parser.add_argument("--confirmations", type=int, default=10)
    parser.add_argument("--no-realtime", action="store_true", help="unpaced (no meaningful latency)")
    parser.add_argument("--worker", nargs=2, metavar=("WAV", "TRADE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(run_call(Path(args.worker[0]), args.worker[1], not args.no_realtime)))
        return 0

    from models.store import ModelStore

    llm = bench_llm(args.confirmations)
    print("LLM confirmation (Qwen2.5-Coder 1.5B Q4_K_M, the prompt read on 2 threads, as the coach runs it)")
    print(f"  {'':10} {'p50 s':>7} {'p95 s':>7} {'tokens evaluated':>17}")
    for mode in ("cached", "uncached"):
        p50, p95, tokens = (llm[f"{mode}_{k}"] for k in ("p50_s", "p95_s", "tokens_evaluated"))
        print(f"  {mode:10} {p50:7.2f} {p95:7.2f} {tokens:17}")
    print(f"  priming the prefix (once per process; from the state cache when warm): {llm['prime_s']} s\n")

    corpus = ModelStore().settings.home / "corpus" / "neural" / args.condition
    rows, latencies = [], []
    heads = (("audio s", 8), ("wall s", 7), ("CPU/audio s", 11), ("RSS MB", 7), ("nudges", 6))
    heads += (("p50 s", 6), ("p95 s", 6))
    print(f"{'call':12} " + " ".join(f"{h:>{w}}" for h, w in heads))
    for call_id in args.calls.split(","):
        wav = corpus / f"{call_id}.wav"
        trade = json.loads((corpus / f"{call_id}.json").read_text())["trade"]
        r = measure_call(wav, trade, not args.no_realtime)
        lat = list(r["latencies_s"])  # type: ignore[call-overload]
        latencies += lat
        p50, p95 = percentile(lat, 50), percentile(lat, 95)
        print(f"{call_id:12} {r['audio_s']:8} {r['wall_s']:7} {r['cpu_per_audio_s']:11} {r['peak_rss_mb']:7.0f} "
              f"{r['nudges']:6} {p50 if p50 is not None else '-':>6} {p95 if p95 is not None else '-':>6}")  # fmt: skip
        rows.append(r)
    overall = {
        "nudges": len(latencies),
        "latency_p50_s": percentile(latencies, 50),
        "latency_p95_s": percentile(latencies, 95),
        "cpu_per_audio_s": round(float(np.mean([float(r["cpu_per_audio_s"]) for r in rows])), 3),  # type: ignore[arg-type]
        "peak_rss_mb": max(float(r["peak_rss_mb"]) for r in rows),  # type: ignore[arg-type]
        "realtime": not args.no_realtime,
    }
    print("\noverall: " + ", ".join(f"{k}={v}" for k, v in overall.items()))
    print(json.dumps({"llm": llm, "calls": rows, "overall": overall}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
