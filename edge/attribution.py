"""Online speaker attribution: a speech segment in, speaker turns out, each with a role and a confidence.

VAD segments are not speaker turns (on the pyannote sample one segment spans both speakers), and
CAM++ embeddings of a second or so of speech are too noisy to find changes by themselves. So each
segment is looked at in context, the way diart does:

1. The segmentation model (pyannote seg-3.0) runs on the last ``window_s`` of audio, ending with
   the segment. It says, every 17 ms, which of up to three *local* speakers talk; runs of one local
   speaker inside the segment are the turns, cut where the model hears the change.
2. Each local speaker is linked to the call's voices two ways. Continuity: in the part of the window
   before the segment, its frames overlap turns already attributed (a speaker who answered a moment
   ago is heard again in the same window). Voice: the CAM++ embedding of the audio where it talks
   alone, compared with the enrolled voiceprint, the rep as heard in this room, the call's other
   speakers, and a "new speaker" option worth ``new_speaker_similarity``. Continuity matters most for
   short speech, whose embedding is noisy, and fades as the speaker's own solo speech grows: in a
   reverberant kitchen the model can hear the rep and the customer as one local speaker.
3. The local speakers of one window are different people to the model, so the best assignment is
   searched jointly, paying ``split_penalty`` for giving one voice to two of them. Local speakers
   heard only earlier in the window (continuity says who they are) or only in the audio heard after
   a piece cut from open speech take part in the assignment, so no one in the segment takes their
   voice for free; a piece cut at a speaker change pays ``change_penalty`` to go to the speaker it
   changed from.

Another local speaker heard inside a turn without taking the floor (a backchannel, a start that gave
way) is cross-talk: a turn of its own with no audio, so the speaker timeline has them and Whisper is
not asked to read two voices at once.

Confidence is a logistic function of the margin between the chosen voice and the best other option.
Speech with no usable voice and no continuity (a backchannel at the very start) goes by turn-taking
to the last speaker other than the one who just spoke, with a low confidence. Roles: see ``voices``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from edge.frames import Role, SpeechSegment
from edge.recent_audio import RecentAudio
from edge.speaker_runs import ActivityModel, speaker_runs
from edge.voices import Voice, VoiceBook, VoiceSettings, unit


class Embedder(Protocol):
    def embed(self, samples: np.ndarray, rate_hz: int = 16_000) -> np.ndarray: ...


@dataclass(frozen=True)
class AttributionSettings:
    voices: VoiceSettings = field(default_factory=VoiceSettings)
    window_s: float = 10.0
    """Audio the segmentation model sees, ending with the segment (seconds; the model was trained on 10 s)."""
    min_context_s: float = 3.0
    """Audio before a long segment always included in its window (seconds), for continuity."""
    activity_threshold: float = 0.5
    """A local speaker talks in a frame when the model's probability exceeds this."""
    min_turn_s: float = 0.5
    """Shorter runs of one speaker inside a segment join a neighbouring run (ASR gets nothing from them)."""
    min_embed_s: float = 0.5
    """Less solo speech than this (seconds) is not embedded."""
    min_link_s: float = 0.3
    """Continuity counts only for a local speaker heard at least this long before the segment (seconds)."""
    link_weight: float = 0.5
    """Score of full continuity with a voice, in cosine-similarity units."""
    link_prior_s: float = 2.0
    """Continuity counts as the share of (time heard before + this) shared with a voice: a little shared
    speech is weak evidence (the model can merge two voices in one window)."""
    link_fade_s: float = 3.0
    """Continuity fades as the speaker's own solo speech grows, to nothing at this many seconds: in a
    reverberant room the model merges two voices across a window (rep then customer heard as one local
    speaker), and continuity would hand the customer the rep's voice against a clear CAM++ verdict."""
    new_speaker_similarity: float = 0.35
    """Score of the "new speaker" option: a voice less like every known one than this opens one."""
    split_penalty: float = 0.3
    """Cost of giving one voice to two local speakers of a window, in cosine-similarity units."""
    change_penalty: float = 0.3
    """Cost of giving a segment cut at a speaker change to the speaker it changed from (cosine units)."""
    confidence_slope: float = 8.344
    """Logistic slope turning a score margin into a confidence."""
    confidence_offset: float = -0.622
    """Added before the logistic. Slope and offset are fitted (Platt scaling, ``scripts/calibrate_speech.py``)
    so a confidence is how often the role is right: on 16 dev calls (hvac-01, pest-01, roofing-01 and solar-01
    in the clean, kitchen, basement and phone renders; 2 373 utterances) the old slope of 12 with no offset
    said 0.99 where 94 % were right, and 0.59 where 42 % were."""
    short_piece_confidence: float = 0.327
    """Confidence of speech attributed by turn-taking alone: how often its role was right on the same calls."""
    overlap_span_s: float = 1.0
    """Overlap with another voice is looked for this far either side of a turn's start (seconds)."""
    cross_talk_min_s: float = 0.2
    """Another local speaker heard this long (seconds) inside a turn without taking the floor is cross-talk:
    a turn of its own, with no words."""
    cross_talk_confidence: float = 0.676
    """Speaker confidence of cross-talk: how often someone of its role talked there (``calibrate_speech``, 111
    cross-talk utterances of dev hvac-01, hvac-02, roofing-02 and solar-02 in the four conditions)."""


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
    """False when neither the voice nor continuity decided the speaker, only turn-taking."""
    overlap_s: float = 0.0
    """Seconds around its start in which the segmentation model heard this speaker and someone else at once:
    a speaker who starts while the other is still talking (a cut-off) overlaps; one who waits does not."""
    cross_talk: bool = False
    """Someone talking under another's turn (a backchannel, a start that gave way): no audio of its own to
    transcribe (``samples`` is empty), only who and when."""


@dataclass
class _Local:
    """One local speaker of the segmentation window: its evidence for each voice."""

    talk_s: float
    embedding: np.ndarray | None
    embedded_s: float
    link_s: dict[str, float]
    heard_before_s: float
    not_voice: str | None = None
    """A voice this local speaker is known not to be (the one the speaker changed from)."""


def _stretches(frames: np.ndarray, times: np.ndarray, step_s: float, min_s: float) -> list[tuple[float, float]]:
    """(start_s, end_s) of each run of true frames at least ``min_s`` long."""
    out = []
    for value, group in itertools.groupby(range(len(frames)), key=lambda i: bool(frames[i])):
        idx = list(group)
        if value and len(idx) * step_s >= min_s:
            out.append((float(times[idx[0]]) - step_s / 2, float(times[idx[-1]]) + step_s / 2))
    return out


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class SpeakerAttributor:
    def __init__(
        self,
        embedder: Embedder,
        activity_model: ActivityModel,
        voiceprint: np.ndarray | None = None,
        rep_id: str = "rep",
        settings: AttributionSettings | None = None,
    ) -> None:
        self.settings = settings or AttributionSettings()
        self._embedder = embedder
        self._model = activity_model
        self.voices = VoiceBook(voiceprint, rep_id, self.settings.voices)
        self._audio: RecentAudio | None = None
        self._labels: list[tuple[float, float, str]] = []  # attributed turns (start_s, end_s, speaker id)
        self._history: list[str] = []  # speaker ids of recent turns, newest last

    @property
    def enrolled(self) -> bool:
        return self.voices.voiceprint is not None

    def attribute(self, segment: SpeechSegment) -> list[SpeakerTurn]:
        s = self.settings
        rate = segment.rate_hz
        if self._audio is None:
            self._audio = RecentAudio(rate, s.window_s + 2 * s.min_context_s + 8.0)
        self._audio.add(segment)
        start = max(0.0, min(segment.start_s - s.min_context_s, segment.end_s - s.window_s))
        ahead_s = len(segment.lookahead) / rate if segment.lookahead is not None else 0.0
        window, window_start_s = self._audio.window(start, segment.end_s + ahead_s)
        if len(segment.samples) < 0.05 * rate or len(window) < rate:
            return [self._by_turn_taking(segment)]
        activity = self._model.activity(window)
        times = window_start_s + activity.frame_times_s()
        runs = self._runs(activity.probabilities, times, segment)
        locals_, context = self._speakers(segment, runs, window, window_start_s, times, activity.probabilities)
        assignment, confidence = self._assign(locals_, context)
        for k, local in locals_.items():
            voice = assignment[k]
            if voice is not None:
                self.voices.learn(voice, local.embedding, local.embedded_s, local.talk_s)
        active = activity.probabilities > s.activity_threshold
        talking_over = active & (active.sum(axis=1, keepdims=True) >= 2)  # each local, while another talks too
        turns = []
        for lo, hi, k in runs:
            voice = assignment[k]
            if voice is None:
                turns.append(self._by_turn_taking(segment, lo, hi))
                continue
            start_s = segment.start_s + lo / rate
            near = (times >= start_s - s.overlap_span_s) & (times <= start_s + s.overlap_span_s)
            overlap_s = float(np.count_nonzero(near & talking_over[:, k])) * activity.frame_step_s
            turns.append(self._turn(segment, lo, hi, voice.id, confidence[k], embedded=True, overlap_s=overlap_s))
        return turns + self._cross_talk(runs, turns, assignment, context, active, times, activity.frame_step_s)

    def _cross_talk(
        self,
        runs: list[tuple[int, int, int]],
        turns: list[SpeakerTurn],
        assignment: dict[int, Voice | None],
        context: dict[int, _Local],
        active: np.ndarray,
        times: np.ndarray,
        step_s: float,
    ) -> list[SpeakerTurn]:
        """Other local speakers heard inside each turn without holding the floor, as turns with no audio.

        Who they are: the voice the assignment gave them if they hold a turn of this segment, else the one
        continuity links them to, else the last other voice that held the floor (people backchannel whoever
        they are talking with)."""
        s = self.settings
        out: list[SpeakerTurn] = []
        for (_, _, k), turn in zip(runs, turns, strict=True):
            inside = (times >= turn.start_s) & (times < turn.end_s)
            for j in range(active.shape[1]):
                if j == k:
                    continue
                stretches = _stretches(inside & active[:, j], times, step_s, s.cross_talk_min_s)
                if not stretches:
                    continue
                voice = self._cross_talker(j, turn.speaker_id, assignment, context)
                if voice is None:
                    continue
                role, cap = self.voices.role_of(voice)
                for start_s, end_s in stretches:
                    out.append(
                        SpeakerTurn(
                            samples=turn.samples[:0],
                            rate_hz=turn.rate_hz,
                            start_s=start_s,
                            end_s=end_s,
                            speaker_id=voice,
                            role=role,
                            confidence=round(min(s.cross_talk_confidence, cap), 3),
                            embedded=False,
                            cross_talk=True,
                        )
                    )
        return out

    def _cross_talker(
        self, k: int, floor: str, assignment: dict[int, Voice | None], context: dict[int, _Local]
    ) -> str | None:
        assigned = assignment.get(k)
        if assigned is not None:
            return assigned.id if assigned.id != floor else None
        links = {v: sec for v, sec in context[k].link_s.items() if v != floor} if k in context else {}
        if links:
            return max(links, key=lambda v: links[v])
        return next((v for v in map(self.voices.resolve, reversed(self._history)) if v != floor), None)

    # -- the segment in its window -------------------------------------------------------------------
    def _speakers(
        self,
        segment: SpeechSegment,
        runs: list[tuple[int, int, int]],
        window: np.ndarray,
        window_start_s: float,
        times: np.ndarray,
        probs: np.ndarray,
    ) -> tuple[dict[int, _Local], dict[int, _Local]]:
        """The local speakers of the segment, and those of the window around it (``context``)."""
        s = self.settings
        active = probs > s.activity_threshold
        locals_ = {
            k: self._local(k, window, window_start_s, times, active, segment, runs) for k in {r[2] for r in runs}
        }
        # Heard earlier in the window but not in the segment: the model says they are other people than the
        # ones in it, and continuity says who they are.
        context = {
            k: local
            for k in range(active.shape[1])
            if k not in locals_
            and (local := self._local(k, window, window_start_s, times, active, segment, runs, embed=False)).link_s
        }
        ahead_s = len(segment.lookahead) / segment.rate_hz if segment.lookahead is not None else 0.0
        if ahead_s > 0:  # heard after a piece cut from open speech: other people than those in it, to the model
            ahead = speaker_runs(probs, times, segment.end_s, segment.end_s + ahead_s, s.activity_threshold, 0.0)
            for k in {r[2] for r in ahead} - set(locals_):
                local = self._local(k, window, window_start_s, times, active, segment, runs)
                local.talk_s = sum(end - begin for begin, end, kk in ahead if kk == k)
                context[k] = local
        if segment.starts_at_change and self._history and runs:
            # Cut here because the speaker changed: whoever spoke last is not who speaks first. (The window's
            # model may still have merged the two, so their continuity does not count.)
            first = locals_[runs[0][2]]
            last = self.voices.resolve(self._history[-1])
            first.link_s.pop(last, None)
            first.not_voice = last
        return locals_, context

    def _runs(self, probs: np.ndarray, times: np.ndarray, segment: SpeechSegment) -> list[tuple[int, int, int]]:
        """The segment cut into runs of one local speaker: (first sample, end sample, local speaker)."""
        s, rate = self.settings, segment.rate_hz
        runs = speaker_runs(probs, times, segment.start_s, segment.end_s, s.activity_threshold, s.min_turn_s)
        n = len(segment.samples)
        cuts = [0] + [min(round((end - segment.start_s) * rate), n) for _, end, _ in runs[:-1]] + [n]
        return [(cuts[i], cuts[i + 1], k) for i, (_, _, k) in enumerate(runs) if cuts[i + 1] > cuts[i]]

    def _local(
        self,
        k: int,
        window: np.ndarray,
        window_start_s: float,
        times: np.ndarray,
        active: np.ndarray,
        segment: SpeechSegment,
        runs: list[tuple[int, int, int]],
        embed: bool = True,
    ) -> _Local:
        s = self.settings
        rate = segment.rate_hz
        step = float(np.median(np.diff(times))) if len(times) > 1 else 0.017
        before = times < segment.start_s
        mine_before = before & active[:, k]
        link: dict[str, float] = {}
        for start, end, labelled in self._labels:
            overlap = float(np.count_nonzero(mine_before & (times >= start) & (times < end))) * step
            if overlap > 0:
                speaker = self.voices.resolve(labelled)
                link[speaker] = link.get(speaker, 0.0) + overlap
        heard_before = float(np.count_nonzero(mine_before)) * step
        if heard_before < s.min_link_s:
            link = {}
        solo = active[:, k] & (active.sum(axis=1) == 1)
        inside = ~before & (times < segment.end_s)
        own = solo & (inside if inside[active[:, k]].any() else ~before)  # a local only heard ahead: its lookahead
        # Only the segment's own audio is embedded: the model may have merged two people in the rest of the
        # window, and their voice would leak into this one.
        chosen = list(np.flatnonzero(own))
        embedding, embedded_s = None, len(chosen) * step
        if embed and embedded_s >= s.min_embed_s:
            mask = np.zeros(len(window), dtype=bool)
            half = int(step * rate / 2) + 1
            for i in chosen:
                centre = round((times[i] - window_start_s) * rate)
                mask[max(centre - half, 0) : centre + half] = True
            embedding = unit(self._embedder.embed(window[mask], rate))
        talk = sum(hi - lo for lo, hi, kk in runs if kk == k) / rate
        return _Local(talk, embedding, embedded_s, link, heard_before)

    # -- who is who ----------------------------------------------------------------------------------
    def _assign(
        self, locals_: dict[int, _Local], context: dict[int, _Local]
    ) -> tuple[dict[int, Voice | None], dict[int, float]]:
        """Each local speaker's voice (None: nothing to go on) and the confidence in it. ``context``: local
        speakers of the window not in the segment, assigned alongside so no one in the segment takes their
        voice without paying ``split_penalty``."""
        s = self.settings
        candidates: list[Voice] = self.voices.candidates()
        for local in [*locals_.values(), *context.values()]:
            candidates += [voice for v in local.link_s if (voice := self.voices.get(v)) not in candidates]
        # Speech with no voice to compare and no continuity: turn-taking decides (see attribute).
        keys = [k for k, local in locals_.items() if local.embedding is not None or local.link_s]
        everyone = {**locals_, **context}
        keys += list(context)
        scores = {k: self._scores(everyone[k], candidates) for k in keys}
        talk = sum(max(everyone[k].talk_s, 0.1) for k in keys)
        new_option = len(candidates)  # the last column of every score row
        weight = {k: max(everyone[k].talk_s, 0.1) / talk for k in keys}
        totals: dict[tuple[int, ...], float] = {}
        for combo in itertools.product(range(len(candidates) + 1), repeat=len(keys)):
            fresh = combo.count(new_option)
            if fresh and len(self.voices.voices) + fresh > s.voices.max_speakers:
                continue
            known = [c for c in combo if c != new_option]
            totals[combo] = sum(weight[k] * scores[k][c] for k, c in zip(keys, combo, strict=True)) - (
                s.split_penalty * (len(known) - len(set(known)))
            )
        assignment: dict[int, Voice | None] = dict.fromkeys(locals_)
        confidence: dict[int, float] = {}
        if not totals:
            return assignment, confidence
        combo = max(totals, key=lambda c: totals[c])
        for i, (k, picked) in enumerate(zip(keys, combo, strict=True)):
            if k in context:
                continue
            # The margin: how much worse the best assignment giving this speaker any other voice is, in
            # this speaker's own score units.
            others = [t for c, t in totals.items() if c[i] != picked]
            margin = (totals[combo] - max(others)) / weight[k] if others else 1.0
            choice = candidates[picked] if picked != new_option else None
            taken = tuple(v for v in assignment.values() if v is not None)
            assignment[k] = choice if choice is not None else self.voices.new_voice(taken)
            confidence[k] = _sigmoid(s.confidence_slope * margin + s.confidence_offset)
        return assignment, confidence

    def _scores(self, local: _Local, candidates: list[Voice]) -> list[float]:
        s = self.settings
        row = []
        for voice in candidates:
            score = self.voices.similarity(local.embedding, voice) if local.embedding is not None else 0.0
            if local.link_s:
                fade = max(0.0, 1.0 - local.embedded_s / s.link_fade_s) if local.embedding is not None else 1.0
                share = local.link_s.get(voice.id, 0.0) / (local.heard_before_s + s.link_prior_s)
                score += s.link_weight * fade * share
            if voice.id == local.not_voice:
                score -= s.change_penalty
            row.append(score)
        has_voice_evidence = local.embedding is not None
        row.append(s.new_speaker_similarity if has_voice_evidence or not candidates else -1.0)
        return row

    # -- turns ---------------------------------------------------------------------------------------
    def _by_turn_taking(self, segment: SpeechSegment, lo: int = 0, hi: int | None = None) -> SpeakerTurn:
        hi = len(segment.samples) if hi is None else hi
        if self._history:
            history = [self.voices.resolve(sp) for sp in self._history]
            last = history[-1]
            speaker = next((sp for sp in reversed(history[:-1]) if sp != last), last)
        elif self.voices.rep is not None:
            speaker = self.voices.rep.id
        else:
            speaker = (self.voices.others or [self.voices.new_voice()])[0].id
        self.voices.get(speaker).talk_s += (hi - lo) / segment.rate_hz
        return self._turn(segment, lo, hi, speaker, self.settings.short_piece_confidence, embedded=False)

    def _turn(
        self,
        segment: SpeechSegment,
        lo: int,
        hi: int,
        speaker_id: str,
        confidence: float,
        embedded: bool,
        overlap_s: float = 0.0,
    ) -> SpeakerTurn:
        rate = segment.rate_hz
        start_s, end_s = segment.start_s + lo / rate, segment.start_s + hi / rate
        self._history = [*self._history[-49:], speaker_id]  # turn-taking looks back a few turns at most
        self._labels.append((start_s, end_s, speaker_id))
        horizon = end_s - self.settings.window_s - self.settings.min_context_s
        self._labels = [label for label in self._labels if label[1] > horizon]
        role, cap = self.voices.role_of(speaker_id)
        return SpeakerTurn(
            samples=segment.samples[lo:hi],
            rate_hz=rate,
            start_s=start_s,
            end_s=end_s,
            speaker_id=speaker_id,
            role=role,
            confidence=round(min(confidence, cap), 3),
            embedded=embedded,
            overlap_s=round(overlap_s, 3),
        )
