"""`ridealong demo`: transcribe a real recording offline with the provisioned models.

VAD cuts the audio into speech segments (Whisper truncates anything past 30 s), and each segment
is transcribed as it closes, the way the live pipeline will stream them.
"""

from __future__ import annotations

import time
from pathlib import Path

from edge.audio_file import read_audio
from models.asr import WhisperTranscriber
from models.loaders import DEFAULT_ASR, load_vad, load_whisper
from models.registry import DEMO_RECORDING, get_spec
from models.store import ModelStore, StoreSettings
from models.vad import VadSegment


def run_demo(wav: Path | None, asr_model: str = DEFAULT_ASR, store: ModelStore | None = None) -> int:
    store = store or ModelStore(StoreSettings())
    path = wav or store.require(get_spec(DEMO_RECORDING)) / "sample.wav"
    clip = read_audio(path)
    vad = load_vad(store)
    asr = load_whisper(store, asr_model)
    print(f"transcribing {path} ({clip.duration_s:.1f} s) with {asr_model}, offline\n")
    started = time.perf_counter()
    block = clip.rate_hz // 10  # feed 100 ms at a time, as a microphone would
    for offset in range(0, len(clip.samples), block):
        for segment in vad.accept(clip.samples[offset : offset + block]):
            _print_segment(segment, asr, clip.rate_hz)
    for segment in vad.flush():
        _print_segment(segment, asr, clip.rate_hz)
    elapsed = time.perf_counter() - started
    rtf = elapsed / clip.duration_s
    print(f"\n{clip.duration_s:.1f} s of audio in {elapsed:.1f} s (real-time factor {rtf:.2f})")
    return 0


def _print_segment(segment: VadSegment, asr: WhisperTranscriber, rate_hz: int) -> None:
    start = segment.start_sample / rate_hz
    end = start + len(segment.samples) / rate_hz
    text = asr.transcribe(segment.samples, rate_hz).text
    print(f"[{_clock(start)} – {_clock(end)}] {text}", flush=True)


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60):02d}:{seconds % 60:04.1f}"
