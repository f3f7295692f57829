"""Numerical self-checks: run each provisioned model on the demo recording, compare to references.

A checksum proves the bytes of a copied model; a converted model also needs proof that the
conversion computes the same thing. References (``models/references/<name>.json``) were recorded
from a known-good provisioning with ``scripts/make_model_references.py``; a check compares the
model's output on a fixed input to them within a tolerance and also checks a semantic property
that holds whatever the numbers (same speaker closer than different speakers, etc.).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models import loaders
from models.errors import MissingExtraError, SelfCheckError
from models.registry import DEMO_RECORDING, ModelKind, ModelSpec, get_spec
from models.speaker import DiarizationSettings, OfflineDiarizer, cosine
from models.store import ModelStore

REFERENCES_DIR = Path(__file__).parent / "references"
ASR_SLICE_S = (6.0, 18.0)
# The sentence-transformers documentation's own example: a paraphrase pair and an unrelated one.
SENTENCES = ("A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.")


@dataclass(frozen=True)
class Recording:
    samples: np.ndarray
    rate_hz: int
    turns: list[tuple[float, float, str]]

    def cut(self, start_s: float, end_s: float) -> np.ndarray:
        return self.samples[int(start_s * self.rate_hz) : int(end_s * self.rate_hz)]


def read_recording(directory: Path) -> Recording:
    import soundfile

    samples, rate = soundfile.read(directory / "sample.wav", dtype="float32")
    turns = []
    for line in (directory / "sample.rttm").read_text().splitlines():
        cols = line.split()
        if cols and cols[0] == "SPEAKER":
            start, duration = float(cols[3]), float(cols[4])
            turns.append((start, start + duration, cols[7]))
    return Recording(np.asarray(samples, dtype=np.float32), int(rate), turns)


class SelfChecker:
    def __init__(self, store: ModelStore, references_dir: Path = REFERENCES_DIR, record: bool = False) -> None:
        self._store = store
        self._references_dir = references_dir
        self._record = record
        self._checks: dict[ModelKind, Callable[[ModelSpec, Path, Recording], dict[str, Any]]] = {
            ModelKind.VAD: self._check_vad,
            ModelKind.ASR: self._check_asr,
            ModelKind.SPEAKER_EMBEDDING: self._check_embedding,
            ModelKind.SEGMENTATION: self._check_segmentation,
            ModelKind.TEXT_EMBEDDING: self._check_text_embedding,
            ModelKind.LLM: self._check_llm,
        }

    def __call__(self, spec: ModelSpec, directory: Path) -> dict[str, Any]:
        check = self._checks.get(spec.kind)
        if check is None:
            return {}
        recording = read_recording(self._store.require(get_spec(DEMO_RECORDING)))
        return check(spec, directory, recording)

    # -- references -----------------------------------------------------------------------------
    def _reference(self, spec: ModelSpec, observed: dict[str, Any]) -> dict[str, Any] | None:
        path = self._references_dir / f"{spec.name}.json"
        if self._record:
            path.write_text(json.dumps(observed, indent=1) + "\n")
            return observed
        if not path.is_file():
            return None
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded

    @staticmethod
    def _fail(spec: ModelSpec, detail: str) -> SelfCheckError:
        return SelfCheckError(spec.name, detail)

    # -- checks ---------------------------------------------------------------------------------
    def _check_vad(self, spec: ModelSpec, directory: Path, rec: Recording) -> dict[str, Any]:
        vad = loaders.vad_from_dir(directory)
        segments = vad.accept(rec.samples) + vad.flush()
        spans = [(s.start_sample / rec.rate_hz, (s.start_sample + len(s.samples)) / rec.rate_hz) for s in segments]
        covered = _coverage([(a, b) for a, b, _ in rec.turns], spans)
        if covered < 0.8:
            raise self._fail(spec, f"VAD covers {covered:.0%} of the labelled speech (expected ≥ 80 %)")
        ref = self._reference(spec, {"spans": [[round(a, 3), round(b, 3)] for a, b in spans]})
        if ref is not None:
            # Another CPU's float rounding can flip a frame near the threshold and split a span in two (a 0.17 s
            # pause on the demo recording): what matters is how much speech moved, not how many spans there are.
            drift = _disagreement_s(spans, [(a, b) for a, b in ref["spans"]])
            if drift > 0.3:
                raise self._fail(spec, f"speech and silence differ from the reference over {drift:.3f} s")
        return {"speech_coverage": round(covered, 3), "segments": len(spans)}

    def _check_asr(self, spec: ModelSpec, directory: Path, rec: Recording) -> dict[str, Any]:
        asr = loaders.whisper_from_dir(directory, spec.name)
        result = asr.transcribe(rec.cut(*ASR_SLICE_S), rec.rate_hz)
        words = _words(result.text)
        if len(words) < 10:
            raise self._fail(spec, f"transcribed only {len(words)} words of 12 s of speech: {result.text!r}")
        ref = self._reference(spec, {"text": result.text})
        similarity = 1.0
        if ref is not None:
            similarity = difflib.SequenceMatcher(None, words, _words(ref["text"])).ratio()
            if similarity < 0.9:
                raise self._fail(spec, f"transcript {result.text!r} differs from reference {ref['text']!r}")
        rtf = result.decode_s / (ASR_SLICE_S[1] - ASR_SLICE_S[0])
        return {"text": result.text, "similarity": round(similarity, 3), "rtf": round(rtf, 3)}

    def _check_embedding(self, spec: ModelSpec, directory: Path, rec: Recording) -> dict[str, Any]:
        embedder = loaders.embedder_from_dir(directory)
        by_speaker: dict[str, list[np.ndarray]] = {}
        for start, end, speaker in rec.turns:
            if end - start >= 1.0:
                by_speaker.setdefault(speaker, []).append(embedder.embed(rec.cut(start, end), rec.rate_hz))
        same, different = _same_vs_different(by_speaker)
        if not same > different + 0.1:
            raise self._fail(spec, f"same-speaker cosine {same:.2f} not above different-speaker {different:.2f}")
        first = rec.turns[0]
        vector = embedder.embed(rec.cut(first[0], first[1]), rec.rate_hz)
        ref = self._reference(spec, {"first_turn": [round(float(x), 5) for x in vector]})
        match = 1.0
        if ref is not None:
            match = cosine(vector, np.asarray(ref["first_turn"], dtype=np.float32))
            if match < 0.99:
                raise self._fail(spec, f"embedding of the first turn has cosine {match:.4f} to the reference")
        return {"same_speaker_cos": round(same, 3), "different_speaker_cos": round(different, 3),
                "reference_cos": round(match, 4)}  # fmt: skip

    def _check_segmentation(self, spec: ModelSpec, directory: Path, rec: Recording) -> dict[str, Any]:
        diarizer = OfflineDiarizer(
            directory / loaders.SEGMENTATION_FILE,
            self._store.require(get_spec("campplus")) / loaders.CAMPPLUS_FILE,
            DiarizationSettings(),
        )
        turns = diarizer.diarize(rec.samples)
        speakers = {t.speaker for t in turns}
        agreement = _frame_agreement(rec.turns, [(t.start_s, t.end_s, str(t.speaker)) for t in turns])
        if len(speakers) != 2 or agreement < 0.85:
            raise self._fail(spec, f"found {len(speakers)} speakers, frame agreement {agreement:.0%}")
        ref = self._reference(spec, {"turns": [[round(t.start_s, 2), round(t.end_s, 2), t.speaker] for t in turns]})
        drift = 0.0
        if ref is not None:
            drift = _disagreement_s([(t.start_s, t.end_s) for t in turns], [(a, b) for a, b, _ in ref["turns"]])
            if drift > 0.5:
                raise self._fail(spec, f"speech and silence differ from the reference over {drift:.2f} s")
        return {
            "speakers": len(speakers),
            "frame_agreement": round(agreement, 3),
            "boundary_drift_s": round(drift, 3),
        }

    def _check_text_embedding(self, spec: ModelSpec, directory: Path, rec: Recording) -> dict[str, Any]:
        vectors = loaders.text_embedder_from_dir(directory).embed(list(SENTENCES))
        related, unrelated = cosine(vectors[0], vectors[1]), cosine(vectors[0], vectors[2])
        if not related > unrelated + 0.3:
            raise self._fail(spec, f"paraphrase cosine {related:.2f} not above unrelated {unrelated:.2f}")
        ref = self._reference(spec, {"first": [round(float(x), 5) for x in vectors[0]]})
        match = cosine(vectors[0], np.asarray(ref["first"], dtype=np.float32)) if ref else 1.0
        if match < 0.99:
            raise self._fail(spec, f"embedding has cosine {match:.4f} to the reference")
        return {
            "paraphrase_cos": round(related, 3),
            "unrelated_cos": round(unrelated, 3),
            "reference_cos": round(match, 4),
        }

    def _check_llm(self, spec: ModelSpec, directory: Path, rec: Recording) -> dict[str, Any]:
        # The pinned sha256 already proves the bytes; this proves llama.cpp reads them.
        from models.llm import LlmSettings, LocalLlm

        try:
            llm = LocalLlm(directory / loaders.GGUF_FILE[spec.name], LlmSettings(n_ctx=256))
        except MissingExtraError as exc:
            return {"loaded": False, "note": exc.reason}
        tokens = llm.tokenize(SENTENCES[0])
        ref = self._reference(spec, {"tokens": tokens})
        if ref is not None and ref["tokens"] != tokens:
            raise self._fail(spec, "the tokenizer read from the GGUF differs from the reference")
        return {"loaded": True, "tokens": len(tokens)}


def _words(text: str) -> list[str]:
    return "".join(c.lower() if c.isalnum() or c == "'" else " " for c in text).split()


def _masks(*span_lists: list[tuple[float, float]], step_s: float = 0.01) -> list[np.ndarray]:
    """Each list of (start_s, end_s) spans as a boolean speech mask on one shared grid of ``step_s``."""
    end = max([b for spans in span_lists for _, b in spans] + [0.0])
    grid = np.arange(0.0, end, step_s)
    masks = []
    for spans in span_lists:
        mask = np.zeros(len(grid), dtype=bool)
        for a, b in spans:
            mask |= (grid >= a) & (grid < b)
        masks.append(mask)
    return masks


def _coverage(reference: list[tuple[float, float]], hypothesis: list[tuple[float, float]]) -> float:
    ref, hyp = _masks(reference, hypothesis)
    return float((ref & hyp).sum() / max(ref.sum(), 1))


def _disagreement_s(
    spans: list[tuple[float, float]], reference: list[tuple[float, float]], step_s: float = 0.01
) -> float:
    """Seconds in which one of the two says speech and the other silence."""
    mine, theirs = _masks(spans, reference, step_s=step_s)
    return float(np.count_nonzero(mine ^ theirs)) * step_s


def _same_vs_different(by_speaker: dict[str, list[np.ndarray]]) -> tuple[float, float]:
    same: list[float] = []
    different: list[float] = []
    items = [(spk, v) for spk, vs in by_speaker.items() for v in vs]
    for i, (spk_a, a) in enumerate(items):
        for spk_b, b in items[i + 1 :]:
            (same if spk_a == spk_b else different).append(cosine(a, b))
    return float(np.mean(same)) if same else 0.0, float(np.mean(different)) if different else 1.0


def _frame_agreement(
    reference: list[tuple[float, float, str]],
    hypothesis: list[tuple[float, float, str]],
    step_s: float = 0.02,
) -> float:
    """Share of single-speaker reference frames whose hypothesis label maps to the right speaker."""
    end = max(b for _, b, _ in reference)
    grid = np.arange(0.0, end, step_s)

    def labels(turns: list[tuple[float, float, str]]) -> list[set[str]]:
        return [{s for a, b, s in turns if a <= t < b} for t in grid]

    ref, hyp = labels(reference), labels(hypothesis)
    pairs: dict[tuple[str, str], int] = {}
    scored = 0
    for r, h in zip(ref, hyp, strict=True):
        if len(r) == 1:
            scored += 1
            if len(h) == 1:
                key = (next(iter(r)), next(iter(h)))
                pairs[key] = pairs.get(key, 0) + 1
    # Greedy one-to-one mapping of hypothesis speakers onto reference speakers by co-occurrence.
    used_ref: set[str] = set()
    used_hyp: set[str] = set()
    agree = 0
    for (r_spk, h_spk), count in sorted(pairs.items(), key=lambda kv: -kv[1]):
        if r_spk not in used_ref and h_spk not in used_hyp:
            used_ref.add(r_spk)
            used_hyp.add(h_spk)
            agree += count
    return agree / max(scored, 1)
