"""Online speaker attribution: a speech segment in, speaker turns out, each with a role and a confidence.

VAD segments are not speaker turns (on the pyannote sample one segment spans both speakers), and
CAM++ embeddings of a second or so of speech are noisy (same speaker ~0.5 cosine, different
speakers ~0.2 here), so changes are found and speakers assigned in one decode:

1. The segment is embedded in consecutive, non-overlapping windows (CAM++ costs tens of ms per
   second of audio on one core; overlapping windows would multiply that).
2. Each window is scored against every known voice: the enrolled rep (the voiceprint, and the rep
   as heard in this room once windows matched confidently), the other speakers of the call (running
   means over everything attributed to them), and a "new speaker" option worth
   ``new_speaker_similarity``. A Viterbi pass picks the best label sequence, paying
   ``switch_penalty`` per change, so one noisy window does not cut a turn in two.
3. Runs of equal labels become turns; a turn's cut moves to the quietest frame near the window
   boundary, because turns change in the small pauses the VAD bridges. A run labelled "new" opens
   a speaker (up to ``max_speakers``); every turn teaches its speaker's running mean.
4. Roles: the enrolled voice is the rep; the non-rep speaker with the most talk time is the
   customer; anyone else is other. Without enrollment the speaker with the most talk time is taken
   for the rep (reps talk most on a consult) and confidence is capped at ``unenrolled_confidence_cap``.

Confidence is a logistic function of the margin between the chosen voice and the best other one,
averaged over the turn's windows. Pieces too short to embed (backchannels: "mm-hm", "yeah") get the
speaker a backchannel usually comes from, the last speaker other than the one who just spoke, with
a low confidence.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from edge.frames import Role, SpeechSegment

NEW = "<new>"


class Embedder(Protocol):
    def embed(self, samples: np.ndarray, rate_hz: int = 16_000) -> np.ndarray: ...


@dataclass(frozen=True)
class AttributionSettings:
    window_s: float = 1.2
    """Length of each embedding window inside a segment (seconds)."""
    min_embed_s: float = 0.5
    """Pieces shorter than this (seconds) are not embedded; they are attributed by turn-taking."""
    new_speaker_similarity: float = 0.35
    """Score of the "new speaker" option: a window less like every known voice than this opens one."""
    switch_penalty: float = 0.15
    """Cost of a speaker change between two windows, in cosine-similarity units."""
    adapt_similarity: float = 0.5
    """A rep turn at least this close to the voiceprint also teaches the in-room model of the rep's voice."""
    max_new_per_segment: int = 2
    """How many voices never heard before one segment may introduce."""
    max_speakers: int = 4
    """Speakers in the room, rep included; beyond this, windows go to the nearest known voice."""
    confidence_slope: float = 12.0
    """Logistic slope turning a similarity margin into a confidence."""
    short_piece_confidence: float = 0.3
    """Confidence of a piece attributed by turn-taking alone."""
    unenrolled_confidence_cap: float = 0.6
    """Without a voiceprint the rep is guessed from talk time, so no role is more certain than this."""
    role_switch_ratio: float = 1.5
    """Another non-rep speaker becomes the customer only with this many times the current one's talk time."""
    quiet_search_s: float = 0.4
    """How far (seconds) from a window boundary a cut may move to find the quietest frame."""


@dataclass(frozen=True)
class SpeakerTurn:
    samples: np.ndarray
    rate_hz: int
    start_s: float
    end_s: float
    speaker_id: str
    role: Role
    confidence: float
    """0-1: how sure the attribution is of the role."""
    embedded: bool
    """False when the piece was too short to embed and was attributed by turn-taking."""


@dataclass
class _Voice:
    id: str
    centroid: np.ndarray | None = None
    """Running mean of the unit embeddings attributed to this voice; None until one was."""
    weight_s: float = 0.0
    talk_s: float = 0.0


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` scaled to length 1 (cosine similarity of unit vectors is their dot product)."""
    norm = float(np.linalg.norm(v))
    return v / norm if norm else v


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class SpeakerAttributor:
    def __init__(
        self,
        embedder: Embedder,
        voiceprint: np.ndarray | None = None,
        rep_id: str = "rep",
        settings: AttributionSettings | None = None,
    ) -> None:
        self.settings = settings or AttributionSettings()
        self._embedder = embedder
        self._voiceprint = unit(np.asarray(voiceprint, dtype=np.float32)) if voiceprint is not None else None
        self._rep = _Voice(rep_id) if voiceprint is not None else None  # the rep as heard in this room
        self._others: list[_Voice] = []
        self._history: list[str] = []  # speaker ids of recent turns, newest last
        self._customer_id: str | None = None

    @property
    def enrolled(self) -> bool:
        return self._voiceprint is not None

    def attribute(self, segment: SpeechSegment) -> list[SpeakerTurn]:
        rate = segment.rate_hz
        samples = segment.samples
        if len(samples) < self.settings.min_embed_s * rate:
            return [self._turn(segment, 0, len(samples), *self._by_turn_taking(), embedded=False)]
        edges = self._window_edges(len(samples), rate)
        windows = np.stack([unit(self._embedder.embed(samples[a:b], rate)) for a, b in itertools.pairwise(edges)])
        voices, scores, labels = self._decode_with_new_voices(windows)
        turns = []
        for label, run in itertools.groupby(range(len(labels)), key=lambda i: labels[i]):
            idx = list(run)
            lo, hi = idx[0], idx[-1] + 1
            start = self._quiet_cut(samples, edges[lo], rate) if lo else 0
            end = self._quiet_cut(samples, edges[hi], rate) if hi < len(labels) else len(samples)
            voice = self._resolve(voices[label])
            duration_s = (end - start) / rate
            self._learn(voice, windows[lo:hi], duration_s)
            turns.append(self._turn(segment, start, end, voice.id, self._confidence(scores[lo:hi], label), True))
        return turns

    # -- decoding ------------------------------------------------------------------------------------
    def _decode_with_new_voices(self, windows: np.ndarray) -> tuple[list[_Voice | None], np.ndarray, list[int]]:
        """Decode; while windows fall to "new speaker", seed a provisional voice from the first of them
        (and the new windows like it) and decode again, so two unfamiliar voices in one segment are
        told apart instead of becoming one new speaker."""
        voices = self._candidates()
        for _ in range(self.settings.max_new_per_segment + 1):
            scores = self._scores(windows, voices)
            labels = self._decode(scores)
            fresh = [i for i, label in enumerate(labels) if voices[label] is None]
            if not fresh or voices[-1] is not None:
                break
            seed = windows[fresh[0]]
            like_seed = [i for i in fresh if float(windows[i] @ seed) >= self.settings.new_speaker_similarity]
            voices.insert(len(voices) - 1, _Voice("", centroid=unit(windows[like_seed].mean(axis=0))))
            if self._speaker_count(voices) >= self.settings.max_speakers:
                voices.pop()  # no room for yet another voice
        return voices, scores, labels

    def _speaker_count(self, voices: list[_Voice | None]) -> int:
        provisional = sum(1 for v in voices if v is not None and not v.id)
        return len(self._others) + (1 if self._rep else 0) + provisional

    def _window_edges(self, n: int, rate: int) -> list[int]:
        window = int(self.settings.window_s * rate)
        bounds = list(range(0, n, window))
        if n - bounds[-1] < self.settings.min_embed_s * rate and len(bounds) > 1:
            bounds.pop()  # a short tail joins the window before it
        return [*bounds, n]

    def _candidates(self) -> list[_Voice | None]:
        """Voices a window may belong to; None stands for a new speaker when there is room for one."""
        known = [v for v in self._others if v.centroid is not None]
        if self._rep is not None:
            known.insert(0, self._rep)
        room = len(self._others) + (1 if self._rep else 0) < self.settings.max_speakers
        candidates: list[_Voice | None] = [*known]
        if room or not known:
            candidates.append(None)
        return candidates

    def _scores(self, windows: np.ndarray, voices: list[_Voice | None]) -> np.ndarray:
        columns = []
        for voice in voices:
            if voice is None:
                columns.append(np.full(len(windows), self.settings.new_speaker_similarity))
            elif voice is self._rep and self._voiceprint is not None:
                references = [self._voiceprint] + ([voice.centroid] if voice.centroid is not None else [])
                columns.append(np.max(np.stack([windows @ r for r in references]), axis=0))
            elif voice.centroid is not None:  # _candidates keeps only voices that have one
                columns.append(windows @ voice.centroid)
        return np.stack(columns, axis=1)

    def _decode(self, scores: np.ndarray) -> list[int]:
        """Viterbi: the label sequence maximising total similarity minus a penalty per change."""
        penalty = self.settings.switch_penalty
        n, k = scores.shape
        total = scores[0].copy()
        back = np.zeros((n, k), dtype=int)
        for i in range(1, n):
            stay = total
            best_prev = int(np.argmax(total))
            switch = total[best_prev] - penalty
            back[i] = np.where(stay >= switch, np.arange(k), best_prev)
            total = np.maximum(stay, switch) + scores[i]
        labels = [int(np.argmax(total))]
        for i in range(n - 1, 0, -1):
            labels.append(int(back[i][labels[-1]]))
        return labels[::-1]

    def _confidence(self, scores: np.ndarray, label: int) -> float:
        mean = scores.mean(axis=0)
        others = np.delete(mean, label)
        margin = float(mean[label] - (others.max() if len(others) else self.settings.new_speaker_similarity))
        return _sigmoid(self.settings.confidence_slope * margin)

    def _quiet_cut(self, samples: np.ndarray, boundary: int, rate: int) -> int:
        frame = rate // 50  # 20 ms
        reach = int(self.settings.quiet_search_s * rate)
        lo, hi = max(boundary - reach, 0), min(boundary + reach, len(samples))
        if hi - lo < frame:
            return boundary
        region = samples[lo:hi]
        n = len(region) // frame
        energy = (region[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
        return lo + int(np.argmin(energy)) * frame + frame // 2

    # -- voices --------------------------------------------------------------------------------------
    def _resolve(self, voice: _Voice | None) -> _Voice:
        if voice is not None and not voice.id:  # a provisional voice from this segment becomes a speaker
            voice.id = f"spk{len(self._others) + 1}"
            voice.centroid, voice.weight_s = None, 0.0  # _learn sets it from the windows it won
            self._others.append(voice)
            return voice
        if voice is not None:
            return voice
        fresh = next((v for v in self._others if v.centroid is None), None)  # a voice heard only briefly
        if fresh is None:
            fresh = _Voice(f"spk{len(self._others) + 1}")
            self._others.append(fresh)
        return fresh

    def _learn(self, voice: _Voice, windows: np.ndarray, duration_s: float) -> None:
        voice.talk_s += duration_s
        mean = unit(windows.mean(axis=0))
        voiceprint = self._voiceprint if voice is self._rep else None
        if voiceprint is not None and float(mean @ voiceprint) < self.settings.adapt_similarity:
            return  # only turns that clearly sound like the voiceprint teach the in-room model
        current = voice.centroid if voice.centroid is not None else np.zeros_like(mean)
        voice.centroid = unit(current * voice.weight_s + mean * duration_s)
        voice.weight_s += duration_s

    def _by_turn_taking(self) -> tuple[str, float]:
        confidence = self.settings.short_piece_confidence
        if not self._history:
            if self._rep:
                return self._rep.id, confidence
            if not self._others:
                self._others.append(_Voice("spk1"))
            return self._others[0].id, confidence
        last = self._history[-1]
        earlier = next((sp for sp in reversed(self._history[:-1]) if sp != last), last)
        return earlier, confidence

    # -- turns and roles -----------------------------------------------------------------------------
    def _turn(
        self, segment: SpeechSegment, start: int, end: int, speaker_id: str, confidence: float, embedded: bool
    ) -> SpeakerTurn:
        rate = segment.rate_hz
        if not embedded:
            voice = self._voice(speaker_id)
            voice.talk_s += (end - start) / rate
        self._history.append(speaker_id)
        role, cap = self._role_of(speaker_id)
        return SpeakerTurn(
            samples=segment.samples[start:end],
            rate_hz=rate,
            start_s=segment.start_s + start / rate,
            end_s=segment.start_s + end / rate,
            speaker_id=speaker_id,
            role=role,
            confidence=round(min(confidence, cap), 3),
            embedded=embedded,
        )

    def _customer(self) -> str | None:
        """The non-rep speaker with the most talk time; a newcomer must out-talk them clearly to take over,
        so roles do not flip back and forth while two people have talked about as much."""
        leader = max(self._others, key=lambda v: v.talk_s, default=None)
        current = next((v for v in self._others if v.id == self._customer_id), None)
        if leader is not None and (current is None or leader.talk_s > self.settings.role_switch_ratio * current.talk_s):
            self._customer_id = leader.id
        return self._customer_id

    def _voice(self, speaker_id: str) -> _Voice:
        voices = ([self._rep] if self._rep else []) + self._others
        return next(v for v in voices if v.id == speaker_id)

    def _role_of(self, speaker_id: str) -> tuple[Role, float]:
        if self._rep is not None:
            if speaker_id == self._rep.id:
                return Role.REP, 1.0
            return (Role.CUSTOMER if self._customer() == speaker_id else Role.OTHER), 1.0
        ranked = sorted(self._others, key=lambda v: v.talk_s, reverse=True)
        cap = self.settings.unenrolled_confidence_cap
        if ranked and ranked[0].id == speaker_id:
            return Role.REP, cap
        if len(ranked) > 1 and ranked[1].id == speaker_id:
            return Role.CUSTOMER, cap
        return Role.OTHER, cap
