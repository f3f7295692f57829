"""Speech recognition adapters: Whisper (segment at a time) and a streaming transducer path."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models._lazy import loading, require
from models.errors import ModelRuntimeError

WHISPER_MAX_S = 30.0


@dataclass(frozen=True)
class AsrSettings:
    language: str = "en"
    task: str = "transcribe"
    num_threads: int = 1
    """Threads for one decode; the edge runs one ASR worker, so one thread keeps a core free."""
    tail_paddings: int = -1
    """Extra feature frames after the audio (-1: sherpa-onnx's default for Whisper)."""


@dataclass(frozen=True)
class Transcript:
    text: str
    tokens: tuple[str, ...] = ()
    decode_s: float = 0.0
    """Wall time of the decode, for RTF accounting."""
    extra: dict[str, Any] = field(default_factory=dict)


class WhisperTranscriber:
    """Transcribes one speech segment (≤ 30 s) at a time with sherpa-onnx's OfflineRecognizer."""

    def __init__(self, encoder: Path, decoder: Path, tokens: Path, settings: AsrSettings | None = None) -> None:
        self.settings = settings or AsrSettings()
        sherpa = require("sherpa_onnx", "speech")
        with loading(encoder):
            self._recognizer: Any = sherpa.OfflineRecognizer.from_whisper(
                encoder=str(encoder),
                decoder=str(decoder),
                tokens=str(tokens),
                language=self.settings.language,
                task=self.settings.task,
                num_threads=self.settings.num_threads,
                tail_paddings=self.settings.tail_paddings,
            )

    def transcribe(self, samples: np.ndarray, rate_hz: int = 16_000) -> Transcript:
        duration_s = len(samples) / rate_hz
        if duration_s > WHISPER_MAX_S:
            # Whisper silently drops everything past 30 s; refuse instead of losing words.
            raise ModelRuntimeError(
                "whisper", f"segment of {duration_s:.1f} s exceeds {WHISPER_MAX_S:.0f} s: cut it first"
            )
        if duration_s == 0:
            return Transcript("")
        started = time.perf_counter()
        stream = self._recognizer.create_stream()
        stream.accept_waveform(rate_hz, np.ascontiguousarray(samples, dtype=np.float32))
        self._recognizer.decode_stream(stream)
        result = stream.result
        return Transcript(text=result.text.strip(), tokens=_tokens(result), decode_s=time.perf_counter() - started)


def _tokens(result: Any) -> tuple[str, ...]:
    """The decoded tokens, or none. Whisper's tokens are pieces of UTF-8 bytes, and a character can be split
    across two (on room audio Whisper sometimes emits such a character); sherpa-onnx's binding decodes each
    token alone and raises UnicodeDecodeError for the half. The text, decoded whole, is fine, and nothing
    downstream needs the tokens: they are dropped, not the utterance (a dev kitchen call once crashed here)."""
    try:
        return tuple(result.tokens)
    except UnicodeDecodeError:
        return ()


@dataclass(frozen=True)
class StreamingAsrSettings:
    num_threads: int = 1
    decoding_method: str = "greedy_search"
    rule1_min_trailing_silence_s: float = 2.4
    """Endpoint after this much trailing silence when nothing was decoded."""
    rule2_min_trailing_silence_s: float = 0.8
    """Endpoint after this much trailing silence once something was decoded."""


class StreamingTranscriber:
    """A streaming transducer (e.g. sherpa-onnx streaming Zipformer) for when one is configured.

    No package registry carries such a model, so the embedded default is Whisper per segment; this
    path serves users who provision an official streaming release themselves.
    """

    def __init__(
        self,
        encoder: Path,
        decoder: Path,
        joiner: Path,
        tokens: Path,
        settings: StreamingAsrSettings | None = None,
    ) -> None:
        self.settings = settings or StreamingAsrSettings()
        for path in (encoder, decoder, joiner, tokens):
            if not Path(path).is_file():
                raise ModelRuntimeError("streaming-asr", f"{path} does not exist")
        sherpa = require("sherpa_onnx", "speech")
        self._recognizer: Any = sherpa.OnlineRecognizer.from_transducer(
            tokens=str(tokens),
            encoder=str(encoder),
            decoder=str(decoder),
            joiner=str(joiner),
            num_threads=self.settings.num_threads,
            decoding_method=self.settings.decoding_method,
            enable_endpoint_detection=True,
            rule1_min_trailing_silence=self.settings.rule1_min_trailing_silence_s,
            rule2_min_trailing_silence=self.settings.rule2_min_trailing_silence_s,
        )
        self._stream: Any = self._recognizer.create_stream()

    def accept(self, samples: np.ndarray, rate_hz: int = 16_000) -> str:
        """Feed audio; returns the partial text of the current utterance."""
        self._stream.accept_waveform(rate_hz, np.ascontiguousarray(samples, dtype=np.float32))
        while self._recognizer.is_ready(self._stream):
            self._recognizer.decode_stream(self._stream)
        return str(self._recognizer.get_result(self._stream)).strip()

    def endpoint(self) -> str | None:
        """The final text if the current utterance ended, resetting for the next; else None."""
        if not self._recognizer.is_endpoint(self._stream):
            return None
        text = str(self._recognizer.get_result(self._stream)).strip()
        self._recognizer.reset(self._stream)
        return text
