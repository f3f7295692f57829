"""Build adapters from provisioned models: the one place that knows each model's file names.

``*_from_dir`` builds from a directory (the self-check runs on a staging directory before a model
is installed); ``load_*`` asks the store, which first checks the model is provisioned and whole.
"""

from __future__ import annotations

from pathlib import Path

from models.asr import AsrSettings, WhisperTranscriber
from models.llm import LlmSettings, LocalLlm
from models.registry import QWEN_GGUF, SMOLLM_GGUF, get_spec
from models.segmentation import SegmentationSettings, SpeakerSegmentation
from models.speaker import DiarizationSettings, EmbeddingSettings, OfflineDiarizer, SpeakerEmbedder
from models.store import ModelStore
from models.text_embedding import TextEmbedder, TextEmbeddingSettings
from models.vad import SileroVad, VadSettings
from models.webrtc_vad import WebRtcVad

DEFAULT_ASR = "whisper-tiny.en"
DEFAULT_LLM = "qwen2.5-1.5b"
WHISPER_PREFIX = {"whisper-tiny.en": "tiny.en", "whisper-base": "base"}
GGUF_FILE = {"qwen2.5-1.5b": QWEN_GGUF, "smollm2-135m": SMOLLM_GGUF}
CAMPPLUS_FILE = "campplus.onnx"
SEGMENTATION_FILE = "segmentation.onnx"


def vad_from_dir(directory: Path, settings: VadSettings | None = None) -> SileroVad:
    return SileroVad(directory / "silero_vad.onnx", settings)


def whisper_from_dir(directory: Path, name: str, settings: AsrSettings | None = None) -> WhisperTranscriber:
    prefix = WHISPER_PREFIX[name]
    return WhisperTranscriber(
        directory / f"{prefix}-encoder.int8.onnx",
        directory / f"{prefix}-decoder.int8.onnx",
        directory / f"{prefix}-tokens.txt",
        settings,
    )


def embedder_from_dir(directory: Path, settings: EmbeddingSettings | None = None) -> SpeakerEmbedder:
    return SpeakerEmbedder(directory / CAMPPLUS_FILE, settings)


def text_embedder_from_dir(directory: Path, settings: TextEmbeddingSettings | None = None) -> TextEmbedder:
    return TextEmbedder(directory / "model.onnx", directory / "tokenizer.json", settings)


def load_vad(store: ModelStore, settings: VadSettings | None = None) -> SileroVad | WebRtcVad:
    """The VAD ``settings.engine`` names (WebRTC's needs no model file)."""
    if settings is not None and settings.engine == "webrtc":
        return WebRtcVad(settings)
    return vad_from_dir(store.require(get_spec("silero-vad")), settings)


def load_whisper(store: ModelStore, name: str = DEFAULT_ASR, settings: AsrSettings | None = None) -> WhisperTranscriber:
    return whisper_from_dir(store.require(get_spec(name)), name, settings)


def load_speaker_embedder(store: ModelStore, settings: EmbeddingSettings | None = None) -> SpeakerEmbedder:
    return embedder_from_dir(store.require(get_spec("campplus")), settings)


def load_segmentation(store: ModelStore, settings: SegmentationSettings | None = None) -> SpeakerSegmentation:
    return SpeakerSegmentation(store.require(get_spec("pyannote-segmentation-3.0")) / SEGMENTATION_FILE, settings)


def load_diarizer(store: ModelStore, settings: DiarizationSettings | None = None) -> OfflineDiarizer:
    return OfflineDiarizer(
        store.require(get_spec("pyannote-segmentation-3.0")) / SEGMENTATION_FILE,
        store.require(get_spec("campplus")) / CAMPPLUS_FILE,
        settings,
    )


def load_llm(store: ModelStore, name: str = DEFAULT_LLM, settings: LlmSettings | None = None) -> LocalLlm:
    spec = get_spec(name)
    return LocalLlm(store.file(spec, GGUF_FILE[spec.name]), settings)


def load_text_embedder(store: ModelStore, settings: TextEmbeddingSettings | None = None) -> TextEmbedder:
    return text_embedder_from_dir(store.require(get_spec("minilm-l6-v2")), settings)
