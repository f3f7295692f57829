"""The voices of one call as the online attributor knows them, and the roles they play.

A voice is a running mean of the unit CAM++ embeddings attributed to it. The enrolled rep has two
references: the voiceprint (recorded elsewhere) and the rep as heard in this room, learnt only
from turns that clearly sound like the voiceprint; the room model can lift a turn's score only
halfway from the voiceprint's, so a turn it learnt by mistake cannot carry another voice to the rep.
Roles: the enrolled voice is the rep; the non-rep speaker with the most talk time is the customer
(with hysteresis); anyone else is other. A voice of its own that comes to sound like both the
voiceprint and the rep in this room is the rep heard from another spot (a noisy embedding opened it,
and its own centroid then kept the rep's turns): it is merged into the rep, and its id becomes an
alias of the rep's.
Without enrollment the speaker with the most talk time is taken for the rep (reps talk most on a
consult), and no role is more certain than ``unenrolled_confidence_cap``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.frames import Role


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` scaled to length 1 (cosine similarity of unit vectors is their dot product)."""
    norm = float(np.linalg.norm(v))
    return v / norm if norm else v


@dataclass(frozen=True)
class VoiceSettings:
    adapt_similarity: float = 0.6
    """A rep turn at least this close to the voiceprint also teaches the in-room model of the rep's voice."""
    max_speakers: int = 4
    """Speakers in the room, rep included; beyond this, speech goes to the nearest known voice."""
    unenrolled_confidence_cap: float = 0.6
    """Without a voiceprint the rep is guessed from talk time, so no role is more certain than this."""
    role_switch_ratio: float = 1.5
    """Another non-rep speaker becomes the customer only with this many times the current one's talk time."""
    rep_merge_print: float = 0.6
    """A voice whose centroid is at least this close to the voiceprint (cosine)..."""
    rep_merge_room: float = 0.9
    """...and this close to the rep as heard in this room..."""
    rep_merge_min_s: float = 2.0
    """...once it holds this much embedded speech (seconds), is the rep. (Dev roofing-02 in the basement: a
    voice opened at 170 s took 20 of the rep's turns, its centroid 0.70 to the voiceprint and 0.97 to the
    rep's; customers sit at 0.2-0.4.)"""


@dataclass(eq=False)  # compared by identity: a voice is one person, whatever its numbers
class Voice:
    id: str
    centroid: np.ndarray | None = None
    """Running mean of the unit embeddings attributed to this voice; None until one was."""
    weight_s: float = 0.0
    talk_s: float = 0.0


class VoiceBook:
    def __init__(
        self, voiceprint: np.ndarray | None = None, rep_id: str = "rep", settings: VoiceSettings | None = None
    ) -> None:
        self.settings = settings or VoiceSettings()
        self.voiceprint = unit(np.asarray(voiceprint, dtype=np.float32)) if voiceprint is not None else None
        self.rep = Voice(rep_id) if voiceprint is not None else None  # the rep as heard in this room
        self.others: list[Voice] = []
        self._customer_id: str | None = None
        self._opened = 0  # voices opened so far: ids are never reused, merged ones live on as aliases
        self._aliases: dict[str, str] = {}

    @property
    def voices(self) -> list[Voice]:
        return ([self.rep] if self.rep else []) + self.others

    @property
    def has_room(self) -> bool:
        return len(self.voices) < self.settings.max_speakers

    def resolve(self, speaker_id: str) -> str:
        """The id a speaker goes by now (a merged voice's id names the rep)."""
        return self._aliases.get(speaker_id, speaker_id)

    def get(self, speaker_id: str) -> Voice:
        speaker_id = self.resolve(speaker_id)
        return next(v for v in self.voices if v.id == speaker_id)

    def candidates(self) -> list[Voice]:
        """Voices speech can be compared with: the enrolled rep, and every other voice heard long enough."""
        return [v for v in self.voices if v is self.rep or v.centroid is not None]

    def similarity(self, embedding: np.ndarray, voice: Voice) -> float:
        if voice is self.rep and self.voiceprint is not None:
            enrolled = float(embedding @ self.voiceprint)
            if voice.centroid is None:
                return enrolled
            # The room can lift the rep's score only halfway to the in-room model: a turn the segmentation
            # model mixed with someone else's voice may have taught it, and it must not pull a voice the
            # voiceprint clearly rejects over to the rep.
            return max(enrolled, (enrolled + float(embedding @ voice.centroid)) / 2)
        return float(embedding @ voice.centroid) if voice.centroid is not None else 0.0

    def new_voice(self, taken: tuple[Voice, ...] = ()) -> Voice:
        """A voice for someone not heard before: one so far named only by turn-taking (never embedded), or a
        new one."""
        unheard = next((v for v in self.others if v.centroid is None and v not in taken), None)
        if unheard is not None:
            return unheard
        self._opened += 1
        voice = Voice(f"spk{self._opened}")
        self.others.append(voice)
        return voice

    def learn(self, voice: Voice, embedding: np.ndarray | None, embedded_s: float, talk_s: float) -> None:
        voice.talk_s += talk_s
        if embedding is None or embedded_s <= 0:
            return
        if (
            self.voiceprint is not None
            and voice is self.rep
            and float(embedding @ self.voiceprint) < (self.settings.adapt_similarity)
        ):
            return  # only turns that clearly sound like the voiceprint teach the in-room model
        current = voice.centroid if voice.centroid is not None else np.zeros_like(embedding)
        voice.centroid = unit(current * voice.weight_s + embedding * embedded_s)
        voice.weight_s += embedded_s
        if self._sounds_like_the_rep(voice):
            self._merge_into_rep(voice)

    def _sounds_like_the_rep(self, voice: Voice) -> bool:
        s, rep = self.settings, self.rep
        # Until the rep has been heard in this room there is nothing to compare with: through a phone a customer
        # can sound as much like the voiceprint (0.74 on dev roofing-02) as the rep does across a basement.
        if rep is None or rep.centroid is None or self.voiceprint is None or voice is rep or voice.centroid is None:
            return False
        if voice.weight_s < s.rep_merge_min_s or float(voice.centroid @ self.voiceprint) < s.rep_merge_print:
            return False
        return float(voice.centroid @ rep.centroid) >= s.rep_merge_room

    def _merge_into_rep(self, voice: Voice) -> None:
        rep = self.rep
        assert rep is not None and voice.centroid is not None
        current = rep.centroid if rep.centroid is not None else np.zeros_like(voice.centroid)
        rep.centroid = unit(current * rep.weight_s + voice.centroid * voice.weight_s)
        rep.weight_s += voice.weight_s
        rep.talk_s += voice.talk_s
        self.others.remove(voice)
        self._aliases[voice.id] = rep.id
        if self._customer_id == voice.id:
            self._customer_id = None

    def role_of(self, speaker_id: str) -> tuple[Role, float]:
        """The speaker's role and the cap on any confidence in it."""
        speaker_id = self.resolve(speaker_id)
        if self.rep is not None:
            if speaker_id == self.rep.id:
                return Role.REP, 1.0
            return (Role.CUSTOMER if self._customer() == speaker_id else Role.OTHER), 1.0
        ranked = sorted(self.others, key=lambda v: v.talk_s, reverse=True)
        cap = self.settings.unenrolled_confidence_cap
        if ranked and ranked[0].id == speaker_id:
            return Role.REP, cap
        if len(ranked) > 1 and ranked[1].id == speaker_id:
            return Role.CUSTOMER, cap
        return Role.OTHER, cap

    def _customer(self) -> str | None:
        """The non-rep speaker with the most talk time; a newcomer must out-talk them clearly to take over,
        so roles do not flip back and forth while two people have talked about as much."""
        leader = max(self.others, key=lambda v: v.talk_s, default=None)
        current = next((v for v in self.others if v.id == self._customer_id), None)
        if leader is not None and (current is None or leader.talk_s > self.settings.role_switch_ratio * current.talk_s):
            self._customer_id = leader.id
        return self._customer_id
