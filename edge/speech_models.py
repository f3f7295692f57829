"""The provisioned speech models, loaded once per process, and a fresh pipeline per call from them."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from edge.attribution import SpeakerAttributor
from edge.change_detector import ChangeSettings, SpeakerChangeDetector
from edge.clock import Clock
from edge.enrollment import Voiceprint, make_voiceprint
from edge.realign import Realigner, RealignSettings
from edge.segmenter import SegmenterSettings, SpeechSegmenter
from edge.speech_pipeline import PipelineSettings, SpeechPipeline
from edge.speech_rescue import RescueSettings, SpeechRescuer
from edge.transcription import TranscriptionStage
from models.asr import AsrSettings, WhisperTranscriber
from models.loaders import (
    DEFAULT_ASR,
    load_diarizer,
    load_segmentation,
    load_speaker_embedder,
    load_vad,
    load_whisper,
)
from models.segmentation import SpeakerSegmentation
from models.speaker import DiarizationSettings, OfflineDiarizer, SpeakerEmbedder
from models.store import ModelStore

EMBEDDING_MODEL = "campplus"


class SpeechModels:
    def __init__(
        self, store: ModelStore, asr_model: str = DEFAULT_ASR, asr_settings: AsrSettings | None = None
    ) -> None:
        self.store = store
        self.asr_model = asr_model
        self._asr_settings = asr_settings

    def load(self) -> None:
        """Load the models every call needs, so a missing or corrupt one fails before the call starts."""
        _ = self.transcriber, self.embedder, self.segmentation

    @cached_property
    def transcriber(self) -> WhisperTranscriber:
        return load_whisper(self.store, self.asr_model, self._asr_settings)

    @cached_property
    def embedder(self) -> SpeakerEmbedder:
        return load_speaker_embedder(self.store)

    @cached_property
    def segmentation(self) -> SpeakerSegmentation:
        return load_segmentation(self.store)

    @cached_property
    def diarizer(self) -> OfflineDiarizer:
        return load_diarizer(self.store, DiarizationSettings())

    def realigner(self, settings: RealignSettings | None = None) -> Realigner:
        return Realigner(self.diarizer, self.embedder, TranscriptionStage(self.transcriber), settings)

    def voiceprint(self, rep_id: str, samples: np.ndarray, source: str) -> Voiceprint:
        """A rep's voiceprint from 16 kHz audio of them talking alone (EnrollmentError if unusable)."""
        segmenter = self.segmenter(SegmenterSettings())
        return make_voiceprint(rep_id, samples, 16_000, segmenter, self.embedder, EMBEDDING_MODEL, source)

    def segmenter(
        self,
        settings: SegmenterSettings,
        clock: Clock | None = None,
        changes: ChangeSettings | None = None,
        rescue: RescueSettings | None = None,
    ) -> SpeechSegmenter:
        """A new segmenter: the VAD holds per-call state, so every call gets its own. With ``changes`` open
        speech is also cut at speaker changes (a call); without, only by length (one voice, enrollment). With
        ``rescue`` the segmentation model also looks for speech the VAD missed."""
        detector = SpeakerChangeDetector(self.segmentation, changes) if changes is not None else None
        rescuer = SpeechRescuer(self.segmentation, rescue) if rescue is not None else None
        return SpeechSegmenter(load_vad(self.store, settings.vad), settings, clock, detector, rescuer)

    def pipeline(
        self,
        call_id: str,
        voiceprint: Voiceprint | None = None,
        settings: PipelineSettings | None = None,
        clock: Clock | None = None,
    ) -> SpeechPipeline:
        settings = settings or PipelineSettings()
        attributor = SpeakerAttributor(
            self.embedder,
            self.segmentation,
            voiceprint.embedding if voiceprint else None,
            rep_id=voiceprint.rep_id if voiceprint else "rep",
            settings=settings.attribution,
        )
        return SpeechPipeline(
            call_id,
            self.segmenter(settings.segmenter, clock, settings.changes, settings.rescue),
            attributor,
            TranscriptionStage(self.transcriber, settings.transcription),
            clock,
        )
