"""Speech-layer metrics against reference labels: DER, WER, role accuracy, confidence reliability.

DER comes from pyannote.metrics (overlap scored), WER from jiwer after Whisper's English text
normaliser (the standard one: numbers, spellings and contractions written one way on both sides).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import jiwer
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate
from whisper_normalizer.english import EnglishTextNormalizer

from edge.frames import Utterance
from scripts.speech_eval.labels import StmLine

_normalise = EnglishTextNormalizer()


def hypothesis(utterances: Sequence[Utterance]) -> Annotation:
    annotation = Annotation()
    for u in utterances:
        if u.end_s > u.start_s:
            annotation[Segment(u.start_s, u.end_s), u.id] = u.speaker_id
    return annotation


def der(reference: Annotation, utterances: Sequence[Utterance], collar_s: float) -> float:
    """Diarization error rate (0-1), overlapped speech scored; ``collar_s`` as pyannote.metrics defines it."""
    metric = DiarizationErrorRate(collar=collar_s, skip_overlap=False)
    return float(metric(reference, hypothesis(utterances)))


@dataclass(frozen=True)
class WordErrors:
    wer: float
    reference_words: int
    substitutions: int
    deletions: int
    insertions: int


def word_errors(reference: Sequence[StmLine], utterances: Sequence[Utterance]) -> WordErrors:
    """Call-level WER: the whole reference against the whole transcript, both in time order."""
    ref = _normalise(" ".join(line.text for line in sorted(reference, key=lambda r: r.start_s)))
    hyp = _normalise(" ".join(u.text for u in sorted(utterances, key=lambda u: u.start_s)))
    out = jiwer.process_words(ref, hyp or "")
    return WordErrors(out.wer, len(ref.split()), out.substitutions, out.deletions, out.insertions)


@dataclass(frozen=True)
class RoleTime:
    """Reference speech time (each speaker's own, overlaps counted per speaker) by how a pass labelled it."""

    total: float
    right: float
    missed: float
    """No utterance covers it: the VAD heard nothing there."""
    overlapped: float
    """Covered with the wrong role while another reference speaker talked too (a backchannel under a turn)."""

    @property
    def wrong(self) -> float:
        """Covered with the wrong role, one person talking: the attribution's own mistakes."""
        return self.total - self.right - self.missed - self.overlapped


def role_time(
    reference: Annotation, roles: dict[str, str], utterances: Sequence[Utterance], rep_only: bool = False
) -> RoleTime:
    """Role accuracy (``right / total``, the share of reference speech time a hypothesis utterance covers with
    that speaker's role) and where the rest went. With ``rep_only`` customer and other count as one (rep or
    not: the confusion that breaks a coaching point)."""

    def role(value: str | None) -> str | None:
        return ("rep" if value == "rep" else "not-rep") if rep_only else value

    # Utterances may overlap (cross-talk lies under a turn): each second of a segment counts once.
    heard = Timeline([Segment(u.start_s, u.end_s) for u in utterances]).support()
    spans: dict[str | None, list[Segment]] = {}
    for u in utterances:
        spans.setdefault(role(u.role.value), []).append(Segment(u.start_s, u.end_s))
    by_role = {r: Timeline(segments).support() for r, segments in spans.items()}
    cross_talk = reference.get_overlap()
    total = right = missed = overlapped = 0.0
    for segment, _, speaker in reference.itertracks(yield_label=True):
        total += segment.duration
        covered = heard.crop(segment)
        correct = by_role.get(role(roles.get(str(speaker))), Timeline()).crop(segment)
        right += correct.duration()
        missed += segment.duration - covered.duration()
        overlapped += covered.extrude(correct).crop(cross_talk).duration() if cross_talk else 0.0
    return RoleTime(total, right, missed, overlapped)


def utterance_role_correct(reference: Annotation, roles: dict[str, str], utterance: Utterance) -> bool | None:
    """Whether the utterance's role is that of the reference speaker covering most of it (None: no one).
    Cross-talk lies under someone else's speech by definition: it is right when a speaker of its role
    covers at least half of it."""
    covered: dict[str, float] = {}
    for segment, _, speaker in reference.itertracks(yield_label=True):
        overlap = min(segment.end, utterance.end_s) - max(segment.start, utterance.start_s)
        if overlap > 0:
            role = roles.get(str(speaker), "other")
            covered[role] = covered.get(role, 0.0) + overlap
    if not covered:
        return None
    if utterance.is_cross_talk:
        return covered.get(utterance.role.value, 0.0) >= (utterance.end_s - utterance.start_s) / 2
    return max(covered, key=lambda r: covered[r]) == utterance.role.value


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    mean_confidence: float
    accuracy: float


def reliability(
    pairs: Sequence[tuple[float, bool]], edges: Sequence[float] = (0, 0.3, 0.5, 0.7, 0.9, 1.0001)
) -> tuple[list[ReliabilityBin], float]:
    """Calibration table of (confidence, was right) pairs, and the expected calibration error."""
    bins = []
    ece = 0.0
    for low, high in itertools.pairwise(edges):
        inside = [(c, ok) for c, ok in pairs if low <= c < high]
        if not inside:
            continue
        mean_c = sum(c for c, _ in inside) / len(inside)
        acc = sum(ok for _, ok in inside) / len(inside)
        bins.append(ReliabilityBin(low, min(high, 1.0), len(inside), mean_c, acc))
        ece += len(inside) / len(pairs) * abs(mean_c - acc)
    return bins, ece
