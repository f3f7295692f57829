"""The second pass, after the call: offline diarization of the whole recording re-labels the utterances.

The online pass decides each turn with a few seconds of context; after the call the whole
recording is available, so pyannote segmentation + CAM++ clustering over all of it (sherpa-onnx)
labels speakers more reliably. Its clusters are mapped to roles with the rep's voiceprint when
there is one (every cluster that sounds like the rep is the rep: the diarizer sometimes splits a
voice in two), otherwise by talk time.

Each online utterance takes the diarized speaker that holds the floor through it. One that spans
several diarized speakers (changes the online pass missed) is cut at the diarized boundaries and
its pieces are transcribed again. Utterances the diarizer heard no speech in keep their online
label; speech the diarizer heard and no online utterance covers (the VAD missed it) is transcribed
and added.
The online pass's cross-talk is left out: the second pass finds who talked under whom itself.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from edge.attribution import Embedder
from edge.call_store import CallStore
from edge.enrollment import Voiceprint
from edge.frames import Role, Utterance
from edge.merged_speakers import agreement, split_merged_speakers
from edge.segmenter import SegmenterSettings
from edge.transcription import TranscriptionStage
from edge.voices import unit
from models.speaker import DiarizedTurn


class Diarizer(Protocol):
    def diarize(self, samples: np.ndarray, num_speakers: int | None = None) -> list[DiarizedTurn]: ...


@dataclass(frozen=True)
class RealignSettings:
    rep_similarity: float = 0.45
    """A diarized speaker whose voice is at least this close (cosine) to the voiceprint is the rep..."""
    rep_margin: float = 0.2
    """...if it is also within this much of the diarized speaker likest the voiceprint."""
    voice_sample_s: float = 60.0
    """Speech (seconds) per diarized speaker embedded to compare it with the voiceprint."""
    window_s: float = 2.0
    """Embedding window for those comparisons (seconds)."""
    disputed_confidence: float = 0.6
    """Speaker confidence of an utterance the two passes disagreed on and the voiceprint decided."""
    split_min_s: float = 0.6
    """Shorter runs of one diarized speaker inside an utterance are not cut out (seconds)."""
    min_speaker_s: float = 3.0
    """An online speaker with less talk time (seconds) is not counted as a person for the clustering."""
    trim_start_s: float = SegmenterSettings.pad_before_s
    """An utterance's start moves in by up to this much to where the diarizer hears its speaker: the segmenter's
    ``pad_before_s``, audio before the VAD's onset kept so Whisper hears soft first sounds."""
    trim_end_s: float = SegmenterSettings.pad_after_s
    """Likewise for its end: the segmenter's ``pad_after_s``."""
    overlap_min_s: float = 0.15
    """Another speaker talking under an utterance at least this long (seconds) gets an overlap utterance (pyannote
    sample: a speaker talks on 0.18 s under the next turn; 0.2 -> 0.15 left dev kitchen and phone unchanged)."""
    overlap_confidence: float = 0.5
    """Speaker confidence of an overlap utterance: the diarizer's word, unchecked by the voice alone."""
    recover_min_s: float = 0.6
    """Diarized speech at least this long (seconds) that no online utterance covers is transcribed and added:
    the VAD misses whole turns of some voices through a phone (corpus dev calls, phone condition: silero hears
    83 % of the reference speech, the segmentation model 87 %, the two together 92 %)."""
    recovered_confidence: float = 0.5
    """Speaker confidence of a recovered utterance: the diarizer's word, unchecked by the voice alone (8 of the
    16 recovered on the dev phone calls hvac-01, hvac-02, roofing-02 and solar-02 had the right role)."""


@dataclass(frozen=True)
class Realignment:
    utterances: list[Utterance]
    """The second pass; ids of cut utterances get a suffix (u00012a, u00012b, ...)."""
    changed: list[tuple[Utterance, Utterance]]
    """(online, second pass) for every utterance whose speaker or role changed."""
    recovered: list[Utterance] = field(default_factory=list)
    """Speech the online pass missed, found by the diarizer and transcribed (also in ``utterances``)."""


class Realigner:
    def __init__(
        self,
        diarizer: Diarizer,
        embedder: Embedder,
        transcription: TranscriptionStage,
        settings: RealignSettings | None = None,
    ) -> None:
        self.settings = settings or RealignSettings()
        self._diarizer = diarizer
        self._embedder = embedder
        self._transcription = transcription

    def realign(
        self,
        audio: np.ndarray,
        rate_hz: int,
        online: list[Utterance],
        voiceprint: np.ndarray | None = None,
        rep_id: str = "rep",
    ) -> Realignment:
        online = [u for u in online if not u.is_cross_talk]
        candidates = [self._diarizer.diarize(audio)]
        count = self._speaker_count(online)
        if count is not None:
            candidates.append(self._diarizer.diarize(audio, count))
        turns = max(candidates, key=lambda t: agreement(t, online))  # the first wins a tie
        turns = split_merged_speakers(turns, online, self.settings.min_speaker_s)
        centroids = self._centroids(turns, audio, rate_hz)
        print_ = unit(voiceprint) if voiceprint is not None else None
        names, roles = self._name_speakers(turns, centroids, print_, rep_id)
        relabelled: dict[str, list[Utterance]] = {}
        overlaps: dict[str, list[Utterance]] = {}
        for utterance in online:
            pieces = self._relabel(utterance, turns, names, roles, audio, rate_hz)
            # Before arbitration: who talks under a piece is judged against the diarized speaker holding it.
            overlaps[utterance.id] = self._overlaps(utterance, pieces, turns, names, roles)
            if print_ is not None:
                pieces = [self._arbitrate(utterance, r, audio, rate_hz, print_, centroids, names, roles)
                          for r in pieces]  # fmt: skip
            relabelled[utterance.id] = pieces
        unheard = self._unheard_names(online, relabelled, roles)
        second: list[Utterance] = []
        changed = []
        for utterance in online:
            pieces = relabelled[utterance.id]
            if pieces == [utterance] and utterance.speaker_id in unheard:
                name = unheard[utterance.speaker_id]
                pieces = [replace(utterance, speaker_id=name, role=roles[name])]
            pieces = pieces + _not_under_own_floor(overlaps[utterance.id], pieces)
            second += pieces
            if len(pieces) > 1 or (pieces[0].speaker_id != utterance.speaker_id or pieces[0].role != utterance.role):
                changed += [(utterance, r) for r in pieces]
        recovered = self._recover(online, turns, names, roles, audio, rate_hz)
        return Realignment(second + recovered, changed, recovered)

    def _speaker_count(self, online: list[Utterance]) -> int | None:
        """How many people the online pass heard talk at some length: a second clustering's target when it is
        at least two (see ``merged_speakers``)."""
        talk: dict[str, float] = defaultdict(float)
        for u in online:
            talk[u.speaker_id] += u.end_s - u.start_s
        count = sum(1 for seconds in talk.values() if seconds >= self.settings.min_speaker_s)
        return count if count >= 2 else None

    def _unheard_names(
        self, online: list[Utterance], relabelled: dict[str, list[Utterance]], roles: dict[str, Role]
    ) -> dict[str, str]:
        """Online speaker id → the second pass's name for them (the one their relabelled speech mostly got),
        so utterances the diarizer heard nothing in are named in the second pass's terms, not the online's."""
        seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for utterance in online:
            pieces = relabelled[utterance.id]
            if pieces != [utterance]:
                for piece in pieces:
                    seconds[utterance.speaker_id][piece.speaker_id] += piece.end_s - piece.start_s
        return {who: max(names, key=lambda n: names[n]) for who, names in seconds.items() if names}

    def _overlaps(
        self,
        utterance: Utterance,
        pieces: list[Utterance],
        turns: list[DiarizedTurn],
        names: dict[int, str],
        roles: dict[str, Role],
    ) -> list[Utterance]:
        """Speech of another diarized speaker under this utterance (a backchannel, an interruption that did
        not take the floor): an utterance of its own in the speaker timeline. Its words are not known (the
        audio is two people at once), so its text is empty and its ASR confidence 0."""
        out: list[Utterance] = []
        for turn in turns:
            name = names[turn.speaker]
            start, end = max(turn.start_s, utterance.start_s), min(turn.end_s, utterance.end_s)
            if end - start < self.settings.overlap_min_s:
                continue
            # Where they hold the floor they are already in the timeline.
            floor = [(piece.start_s, piece.end_s) for piece in pieces if piece.speaker_id == name]
            for a, b in _uncovered(start, end, floor):
                if b - a >= self.settings.overlap_min_s:
                    out.append(
                        replace(
                            utterance,
                            id=f"{utterance.id}o{len(out) + 1}",
                            speaker_id=name,
                            role=roles[name],
                            start_s=round(a, 3),
                            end_s=round(b, 3),
                            text="",
                            asr_confidence=0.0,
                            speaker_confidence=self.settings.overlap_confidence,
                        )
                    )
        return out

    def _recover(
        self,
        online: list[Utterance],
        turns: list[DiarizedTurn],
        names: dict[int, str],
        roles: dict[str, Role],
        audio: np.ndarray,
        rate_hz: int,
    ) -> list[Utterance]:
        """Diarized speech no online utterance covers, transcribed: an utterance of its own when Whisper finds
        words in it (the diarizer's false alarms on noise mostly have none). Ids r00000, r00001, ..."""
        if not online:
            return []
        covered = [(u.start_s, u.end_s) for u in online]
        out: list[Utterance] = []
        for turn in sorted(turns, key=lambda t: t.start_s):
            for start, end in _uncovered(turn.start_s, turn.end_s, covered):
                if end - start < self.settings.recover_min_s:
                    continue
                covered.append((start, end))  # a second diarized speaker over the same gap does not repeat it
                words = self._transcription.process(audio[int(start * rate_hz) : int(end * rate_hz)], rate_hz)
                if words is None:
                    continue
                name = names[turn.speaker]
                out.append(
                    Utterance(
                        id=f"r{len(out):05d}",
                        call_id=online[0].call_id,
                        speaker_id=name,
                        role=roles[name],
                        start_s=round(start, 3),
                        end_s=round(end, 3),
                        text=words.text,
                        asr_confidence=words.confidence,
                        speaker_confidence=self.settings.recovered_confidence,
                    )
                )
        return out

    def _centroids(self, turns: list[DiarizedTurn], audio: np.ndarray, rate_hz: int) -> dict[int, np.ndarray]:
        """Each diarized speaker's voice: the mean embedding of up to ``voice_sample_s`` of their longest turns."""
        window = int(self.settings.window_s * rate_hz)
        out = {}
        for speaker in sorted({t.speaker for t in turns}):
            mine = sorted((t for t in turns if t.speaker == speaker), key=lambda t: t.end_s - t.start_s, reverse=True)
            vectors: list[np.ndarray] = []
            budget = int(self.settings.voice_sample_s * rate_hz)
            for t in mine:
                clip = audio[int(t.start_s * rate_hz) : int(t.end_s * rate_hz)]
                for i in range(0, len(clip) - window + 1, window):
                    if budget > 0:
                        vectors.append(unit(self._embedder.embed(clip[i : i + window], rate_hz)))
                        budget -= window
            if vectors:
                out[speaker] = unit(np.mean(vectors, axis=0))
        return out

    def _name_speakers(
        self,
        turns: list[DiarizedTurn],
        centroids: dict[int, np.ndarray],
        voiceprint: np.ndarray | None,
        rep_id: str,
    ) -> tuple[dict[int, str], dict[str, Role]]:
        talk: dict[int, float] = defaultdict(float)
        for t in turns:
            talk[t.speaker] += t.end_s - t.start_s
        by_talk = sorted(talk, key=lambda k: talk[k], reverse=True)
        if voiceprint is not None:
            # Every cluster that sounds like the rep is the rep (the diarizer sometimes splits a voice in two),
            # but only as much like them as the likest: through a phone everyone sounds a bit like everyone.
            sims = {k: float(centroids[k] @ voiceprint) for k in by_talk if k in centroids}
            best = max(sims.values(), default=0.0)
            floor = max(self.settings.rep_similarity, best - self.settings.rep_margin)
            reps = {k for k, sim in sims.items() if sim >= floor}
        else:
            reps = set(by_talk[:1])  # no voiceprint: the rep is who talks most
        names: dict[int, str] = {}
        roles: dict[str, Role] = {rep_id: Role.REP}
        others = [k for k in by_talk if k not in reps]
        for k in reps:
            names[k] = rep_id
        for n, k in enumerate(others, start=1):
            names[k] = f"spk{n}"
            roles[names[k]] = Role.CUSTOMER if n == 1 else Role.OTHER
        return names, roles

    def _arbitrate(
        self,
        online: Utterance,
        second: Utterance,
        audio: np.ndarray,
        rate_hz: int,
        voiceprint: np.ndarray,
        centroids: dict[int, np.ndarray],
        names: dict[int, str],
        roles: dict[str, Role],
    ) -> Utterance:
        """Where the passes disagree on whether the rep spoke, the utterance's own voice decides.

        The offline clustering sometimes merges two similar voices (the rep and a husband) into one
        speaker, which the online pass, anchored on the voiceprint, had told apart."""
        if (online.role == Role.REP) == (second.role == Role.REP) or second.end_s - second.start_s < 0.8:
            return second
        clip = audio[int(second.start_s * rate_hz) : int(second.end_s * rate_hz)]
        voice = unit(self._embedder.embed(clip, rate_hz))
        rep_sim = float(voice @ voiceprint)
        rep_id = next(name for name, role in roles.items() if role == Role.REP)
        disputed = self.settings.disputed_confidence
        others = {names[k]: float(voice @ c) for k, c in centroids.items() if names.get(k, rep_id) != rep_id}
        if rep_sim >= self.settings.rep_similarity and rep_sim > max(others.values(), default=-1.0):
            return replace(second, speaker_id=rep_id, role=Role.REP, speaker_confidence=disputed)
        if second.role != Role.REP:
            return second
        # Not the rep after all: the nearest other diarized voice, or the online pass's speaker if none.
        if not others:
            return replace(second, speaker_id=online.speaker_id, role=online.role, speaker_confidence=disputed)
        name = max(others, key=lambda n: others[n])
        return replace(second, speaker_id=name, role=roles[name], speaker_confidence=disputed)

    def _relabel(
        self,
        utterance: Utterance,
        turns: list[DiarizedTurn],
        names: dict[int, str],
        roles: dict[str, Role],
        audio: np.ndarray,
        rate_hz: int,
    ) -> list[Utterance]:
        runs = self._runs(utterance, turns)
        if not runs:
            return [utterance]  # the diarizer heard no speech here: the online label stands
        if len(runs) == 1:
            (start, end, speaker, share) = runs[0]
            name = names[speaker]
            return [
                replace(
                    utterance,
                    speaker_id=name,
                    role=roles[name],
                    start_s=round(start, 3),
                    end_s=round(end, 3),
                    speaker_confidence=round(share, 3),
                )
            ]
        pieces = []
        for n, (start, end, speaker, share) in enumerate(runs):
            words = self._transcription.process(audio[int(start * rate_hz) : int(end * rate_hz)], rate_hz)
            if words is None:
                continue
            name = names[speaker]
            pieces.append(
                replace(
                    utterance,
                    id=f"{utterance.id}{chr(ord('a') + n)}",
                    speaker_id=name,
                    role=roles[name],
                    start_s=round(start, 3),
                    end_s=round(end, 3),
                    text=words.text,
                    asr_confidence=words.confidence,
                    speaker_confidence=round(share, 3),
                )
            )
        return pieces or [utterance]

    def _runs(self, utterance: Utterance, turns: list[DiarizedTurn]) -> list[tuple[float, float, int, float]]:
        """The utterance cut into runs of one dominant diarized speaker: (start_s, end_s, speaker, share),
        share being the part of the run that speaker covers. Where two overlap, the one who started
        later holds the floor (an interruption takes it); runs shorter than ``split_min_s`` join the
        run before them, since ASR on a sliver of audio returns nothing useful."""
        step = 0.01
        inside = [t for t in turns if t.end_s > utterance.start_s and t.start_s < utterance.end_s]
        if not inside:
            return []
        frames = np.arange(utterance.start_s, utterance.end_s, step)
        owner = np.full(len(frames), -1)
        for t in sorted(inside, key=lambda t: t.start_s):  # later starts overwrite: they hold the floor
            owner[(frames >= t.start_s) & (frames < t.end_s)] = t.speaker
        # Pauses belong to whoever spoke before them (or after, at the very start): forward fill.
        known = np.flatnonzero(owner >= 0)
        if not len(known):
            return []
        last_known = np.maximum.accumulate(np.where(owner >= 0, np.arange(len(owner)), -1))
        owner = np.where(last_known >= 0, owner[np.maximum(last_known, 0)], owner[known[0]])
        runs: list[list[float]] = []
        for speaker, group in itertools.groupby(range(len(owner)), key=lambda i: int(owner[i])):
            idx = list(group)
            runs.append([float(frames[idx[0]]), float(frames[idx[-1]] + step), float(speaker)])
        merged = self._absorb_slivers(runs)
        merged[0][0], merged[-1][1] = self._edges(utterance, inside, int(merged[0][2]), int(merged[-1][2]))
        out = []
        for start, end, who in merged:
            covered = sum(max(0.0, min(t.end_s, end) - max(t.start_s, start)) for t in inside if t.speaker == int(who))
            out.append((start, end, int(who), min(1.0, covered / max(end - start, 1e-3))))
        return out

    def _edges(self, utterance: Utterance, inside: list[DiarizedTurn], first: int, last: int) -> tuple[float, float]:
        """The utterance's start and end, moved in to where the diarizer hears its first and last speaker
        talk, by no more than the padding the segmenter put round the VAD's speech for Whisper's sake.
        Trimming further dropped soft speech the diarizer missed and the VAD kept."""
        start, end = utterance.start_s, utterance.end_s
        heard_from = min((t.start_s for t in inside if t.speaker == first), default=start)
        heard_to = max((t.end_s for t in inside if t.speaker == last), default=end)
        start = min(max(start, heard_from), start + self.settings.trim_start_s)
        end = max(min(end, heard_to), end - self.settings.trim_end_s)
        return (start, end) if end - start >= self.settings.split_min_s else (utterance.start_s, utterance.end_s)

    def _absorb_slivers(self, runs: list[list[float]]) -> list[list[float]]:
        """Runs ([start, end, speaker]) shorter than ``split_min_s`` go to their longer neighbour, shortest
        first, so a sliver never decides the label of the speech around it."""
        runs = [list(r) for r in runs]
        while len(runs) > 1:
            i = min(range(len(runs)), key=lambda j: runs[j][1] - runs[j][0])
            if runs[i][1] - runs[i][0] >= self.settings.split_min_s:
                break
            neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(runs)]
            j = max(neighbours, key=lambda n: runs[n][1] - runs[n][0])
            runs[j][0], runs[j][1] = min(runs[i][0], runs[j][0]), max(runs[i][1], runs[j][1])
            runs.pop(i)
            joined: list[list[float]] = []
            for run in runs:  # neighbours of one speaker become one run
                if joined and joined[-1][2] == run[2]:
                    joined[-1][1] = run[1]
                else:
                    joined.append(run)
            runs = joined
        return runs


def _uncovered(start: float, end: float, covered: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The parts of [start, end) outside every (start, end) span in ``covered``."""
    free = [(start, end)]
    for a, b in covered:
        free = [part for s, e in free for part in ((s, min(e, a)), (max(s, b), e)) if part[1] > part[0]]
    return free


def _not_under_own_floor(overlaps: list[Utterance], pieces: list[Utterance]) -> list[Utterance]:
    """Overlap utterances less than half covered by a piece of the same speaker: the voiceprint can give a piece
    to the speaker the diarizer heard under it, who then needs no overlap utterance there too."""

    def own(o: Utterance) -> float:
        return sum(max(0.0, min(p.end_s, o.end_s) - max(p.start_s, o.start_s)) for p in pieces
                   if p.speaker_id == o.speaker_id)  # fmt: skip

    return [o for o in overlaps if own(o) < (o.end_s - o.start_s) / 2]


def realign_call(
    store: CallStore, call_id: str, realigner: Realigner, voiceprint: Voiceprint | None = None
) -> Realignment:
    """Run the second pass over a stored call and store it next to the online pass."""
    record = store.get(call_id)
    result = realigner.realign(
        store.audio(call_id),
        record.rate_hz,
        store.utterances(call_id),
        voiceprint.embedding if voiceprint else None,
        voiceprint.rep_id if voiceprint else "rep",
    )
    store.save_second_pass(call_id, result.utterances, result.changed)
    return result
