"""Render the evaluation corpus in every condition, with reference labels.

    .venv/bin/python scripts/render_corpus.py [--out DIR] [--conditions clean,kitchen,basement,phone]
        [--split all|dev|test] [--seed 0]

Writes DIR/<voices>/<condition>/<call>.{wav,rttm,stm,roles.json,enroll.wav,json} (DIR defaults to
$RIDEALONG_HOME/corpus) and prints the audio hours, the time taken and the moments per type and
split. Unchanged calls are not rendered again.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.store import default_home
from scripts.corpus.render import CONDITIONS, render_call
from scripts.corpus.schema import Call, load_split
from scripts.corpus.voices import ESPEAK_BANK, EspeakSynthesizer, Synthesizer, VoiceBank

SHARED_ROOMS = Path(__file__).resolve().parents[2] / "shared" / "data" / "rooms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=default_home() / "corpus")
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--split", choices=("all", "dev", "test"), default="all")
    parser.add_argument("--calls", help="only these call ids (comma-separated)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rooms", type=Path, default=SHARED_ROOMS, help="shared/data/rooms")
    parser.add_argument(
        "--voices",
        choices=("neural", "espeak"),
        default="neural",
        help="neural: Kokoro + Piper (`ridealong models fetch kokoro-82m piper-joe`); espeak: fast, robotic",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per neural synthesis; 1 (the default) gives byte-identical audio anywhere; "
        "run one process per core (e.g. --split dev and --split test)",
    )
    args = parser.parse_args(argv)

    splits = ("dev", "test") if args.split == "all" else (args.split,)
    calls = {split: load_split(split) for split in splits}
    if args.calls:
        wanted = set(args.calls.split(","))
        calls = {split: [c for c in split_calls if c.id in wanted] for split, split_calls in calls.items()}
        if unknown := wanted - {c.id for split_calls in calls.values() for c in split_calls}:
            parser.error(f"no call {', '.join(sorted(unknown))} in the {args.split} split(s)")
    conditions = [CONDITIONS[name] for name in args.conditions.split(",")]
    synth, bank = voice_engine(args.voices, args.out / "tts-cache", args.threads)
    started = time.perf_counter()
    total_s, rendered = 0.0, 0
    for split, split_calls in calls.items():
        for call in split_calls:
            for condition in conditions:
                out = args.out / args.voices / condition.name
                result = render_call(call, condition, out, synth, args.rooms, args.seed, bank)
                total_s += result.duration_s
                rendered += not result.cached
                state = "cached" if result.cached else "rendered"
                print(
                    f"{split:4} {condition.name:9} {call.id:12} {result.duration_s / 60:5.1f} min  {state}",
                    flush=True,
                )
    elapsed = time.perf_counter() - started
    print(f"\n{total_s / 3600:.2f} h of audio ({rendered} files rendered, the rest cached) in {elapsed:.0f} s")
    print_moment_summary(calls)
    return 0


def voice_engine(name: str, cache_dir: Path, threads: int = 2) -> tuple[Synthesizer, VoiceBank]:
    if name == "espeak":
        return EspeakSynthesizer(cache_dir / "espeak"), ESPEAK_BANK
    from models.store import ModelStore
    from scripts.corpus.neural_voices import NEURAL_BANK, NeuralSynthesizer

    return NeuralSynthesizer(ModelStore(), cache_dir / "neural", threads), NEURAL_BANK


def print_moment_summary(calls: dict[str, list[Call]]) -> None:
    counts = {split: Counter(m.type.value for c in cs for m in c.moments) for split, cs in calls.items()}
    misses = {split: Counter(m.type.value for c in cs for m in c.near_misses) for split, cs in calls.items()}
    types = sorted(set().union(*counts.values(), *misses.values()))
    header = "".join(f"{s + ' +':>8}{s + ' ~':>8}" for s in calls)
    print(f"\n{'moment type (+ labelled, ~ near-miss)':40}{header}")
    for t in types:
        print(f"{t:40}" + "".join(f"{counts[s][t]:8}{misses[s][t]:8}" for s in calls))
    summary = {
        s: {"calls": len(cs), "moments": dict(counts[s]), "near_misses": dict(misses[s])} for s, cs in calls.items()
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    sys.exit(main())
