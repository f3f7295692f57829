"""The second pass's re-labelling rules, with a scripted diarizer and transcriber."""

from __future__ import annotations

import numpy as np

from edge.frames import Role, Utterance
from edge.realign import Realigner, _not_under_own_floor
from edge.transcription import TranscriptionStage
from models.asr import Transcript
from models.speaker import DiarizedTurn

RATE = 16_000


class ScriptedDiarizer:
    def __init__(self, turns: list[DiarizedTurn]) -> None:
        self.turns = turns
        self.asked_for: list[int | None] = []

    def diarize(self, samples: np.ndarray, num_speakers: int | None = None) -> list[DiarizedTurn]:
        self.asked_for.append(num_speakers)
        return self.turns


class LevelEmbedder:
    """Diarized speaker k's audio is filled with level k/10; speaker 0 sounds like the voiceprint."""

    def embed(self, samples: np.ndarray, rate_hz: int = RATE) -> np.ndarray:
        return np.eye(4)[round(float(np.median(samples)) * 10)]


class LengthTranscriber:
    def transcribe(self, samples: np.ndarray, rate_hz: int = RATE) -> Transcript:
        return Transcript(f"words for {len(samples) / rate_hz:.1f} seconds")


def audio(turns: list[DiarizedTurn], end_s: float) -> np.ndarray:
    out = np.zeros(int(end_s * RATE), dtype=np.float32)
    for t in turns:
        out[int(t.start_s * RATE) : int(t.end_s * RATE)] = t.speaker / 10
    return out


def utt(uid: str, start_s: float, end_s: float, speaker: str, role: Role) -> Utterance:
    return Utterance(uid, "c", speaker, role, start_s, end_s, "online words", 1.0, 0.9)


def realigner(turns: list[DiarizedTurn]) -> Realigner:
    return Realigner(ScriptedDiarizer(turns), LevelEmbedder(), TranscriptionStage(LengthTranscriber()))


def test_voiceprint_names_the_rep_even_when_the_customer_talks_more() -> None:
    turns = [DiarizedTurn(0.0, 4.0, 1), DiarizedTurn(4.0, 6.0, 2), DiarizedTurn(6.0, 20.0, 3)]
    online = [utt("u1", 0.0, 4.0, "spk1", Role.CUSTOMER), utt("u2", 6.0, 20.0, "spk1", Role.CUSTOMER)]
    result = realigner(turns).realign(audio(turns, 20.0), RATE, online, voiceprint=np.eye(4)[1], rep_id="joe")
    relabelled = [(u.speaker_id, u.role) for u in result.utterances if u not in result.recovered]
    assert relabelled == [("joe", Role.REP), ("spk1", Role.CUSTOMER)]
    assert [new.id for _, new in result.changed] == ["u1"]


def test_an_utterance_spanning_two_speakers_is_cut_and_transcribed_again() -> None:
    turns = [DiarizedTurn(0.0, 3.0, 1), DiarizedTurn(2.8, 7.0, 2)]
    online = [utt("u1", 0.0, 7.0, "rep", Role.REP)]
    result = realigner(turns).realign(audio(turns, 7.0), RATE, online, voiceprint=np.eye(4)[1])
    *pieces, overlap = result.utterances
    assert [u.id for u in pieces] == ["u1a", "u1b"]
    assert (overlap.id, overlap.role, overlap.start_s, overlap.end_s) == ("u1o1", Role.REP, 2.8, 3.0)  # cross-talk
    assert [u.role for u in pieces] == [Role.REP, Role.CUSTOMER]
    assert pieces[0].end_s == pieces[1].start_s == 2.8  # the interrupter holds the floor from their start
    assert pieces[1].text == "words for 4.2 seconds"


def test_slivers_are_not_cut_out_and_unheard_utterances_keep_their_label() -> None:
    turns = [DiarizedTurn(0.0, 5.0, 1), DiarizedTurn(5.0, 5.1, 2), DiarizedTurn(5.1, 8.0, 1)]
    online = [utt("u1", 0.0, 8.0, "rep", Role.REP), utt("u2", 9.0, 10.0, "spk1", Role.CUSTOMER)]
    result = realigner(turns).realign(audio(turns, 10.0), RATE, online, voiceprint=np.eye(4)[1])
    assert [u.id for u in result.utterances] == ["u1", "u2"]
    assert result.utterances[1] == online[1]
    assert result.changed == []


def test_a_sliver_never_decides_the_label_of_the_speech_around_it() -> None:
    """0.05 s of the customer, 0.5 s of the rep, 0.2 s of the customer: too short to cut, so all of it is
    the rep's (the longest), not the customer's because their sliver came first."""
    turns = [DiarizedTurn(0.0, 10.05, 2), DiarizedTurn(10.05, 10.55, 1), DiarizedTurn(10.55, 20.0, 2)]
    turns.append(DiarizedTurn(20.0, 25.0, 1))  # the rep at length later, so their voice is known
    online = [utt("u1", 10.0, 10.75, "spk1", Role.CUSTOMER)]
    result = realigner(turns).realign(audio(turns, 25.0), RATE, online, voiceprint=np.eye(4)[1])
    assert [(u.id, u.role) for u in result.utterances if u.text and u not in result.recovered] == [("u1", Role.REP)]


def test_speech_under_another_speakers_utterance_becomes_an_overlap_utterance_without_words() -> None:
    turns = [DiarizedTurn(0.0, 8.0, 1), DiarizedTurn(3.0, 3.6, 2)]  # "mm-hm" under the rep's turn
    online = [utt("u1", 0.0, 8.0, "rep", Role.REP)]
    result = realigner(turns).realign(audio(turns, 8.0), RATE, online, voiceprint=np.eye(4)[1])
    floor, overlap = result.utterances
    assert (floor.id, floor.role, floor.start_s, floor.end_s) == ("u1", Role.REP, 0.0, 8.0)
    assert (overlap.id, overlap.role, overlap.start_s, overlap.end_s) == ("u1o1", Role.CUSTOMER, 3.0, 3.6)
    assert overlap.is_cross_talk
    assert (online[0], overlap) in result.changed
    # The online pass's own cross-talk is not an input: the diarizer says who talked under whom.
    heard_online = Utterance("u2", "c", "spk1", Role.CUSTOMER, 3.1, 3.5, "", 0.0, 0.5)
    again = realigner(turns).realign(audio(turns, 8.0), RATE, [*online, heard_online], voiceprint=np.eye(4)[1])
    assert again.utterances == result.utterances


def test_the_clustering_is_told_how_many_spoke_and_a_merge_of_two_online_voices_is_undone() -> None:
    """The diarizer put everyone in one cluster; the online pass heard two voices at length: the second
    pass keeps them apart instead of collapsing the call onto one speaker."""
    turns = [DiarizedTurn(0.0, 20.0, 1)]
    online = [
        utt("u1", 0.0, 6.0, "spk1", Role.REP),
        utt("u2", 6.0, 11.0, "spk2", Role.CUSTOMER),
        utt("u3", 11.0, 20.0, "spk1", Role.REP),
    ]
    diarizer = ScriptedDiarizer(turns)
    r = Realigner(diarizer, LevelEmbedder(), TranscriptionStage(LengthTranscriber()))
    result = r.realign(audio(turns, 20.0), RATE, online)
    assert diarizer.asked_for == [None, 2]  # by threshold, then told how many the online pass heard
    assert [u.speaker_id for u in result.utterances] == ["rep", "spk1", "rep"]
    assert [u.role for u in result.utterances] == [Role.REP, Role.CUSTOMER, Role.REP]


class TaggingTranscriber:
    """Whisper on noise: a tag, no words."""

    def transcribe(self, samples: np.ndarray, rate_hz: int = RATE) -> Transcript:
        return Transcript("[BLANK_")


def test_speech_no_online_utterance_covers_is_transcribed_and_added() -> None:
    """The VAD missed the customer's turn and the end of the rep's: the second pass adds what the
    diarizer heard there, with the diarizer's speaker and its own, lower, confidence."""
    turns = [DiarizedTurn(0.0, 6.0, 1), DiarizedTurn(6.5, 9.5, 2), DiarizedTurn(10.0, 10.4, 2)]
    online = [utt("u1", 0.0, 4.0, "rep", Role.REP)]
    result = realigner(turns).realign(audio(turns, 11.0), RATE, online, voiceprint=np.eye(4)[1])
    found = [(u.id, u.role, u.start_s, u.end_s, u.text) for u in result.recovered]
    assert found == [
        ("r00000", Role.REP, 4.0, 6.0, "words for 2.0 seconds"),
        ("r00001", Role.CUSTOMER, 6.5, 9.5, "words for 3.0 seconds"),
    ]  # 0.4 s at 10.0 is too short to transcribe on its own
    assert all(u.speaker_confidence == 0.5 and u.call_id == "c" for u in result.recovered)
    assert [u.id for u in result.utterances] == ["u1", "r00000", "r00001"]
    assert result.changed == []  # nothing online was relabelled


def test_diarized_speech_whisper_finds_no_words_in_is_not_added() -> None:
    turns = [DiarizedTurn(0.0, 4.0, 1), DiarizedTurn(5.0, 8.0, 2)]
    online = [utt("u1", 0.0, 4.0, "rep", Role.REP)]
    r = Realigner(ScriptedDiarizer(turns), LevelEmbedder(), TranscriptionStage(TaggingTranscriber()))
    result = r.realign(audio(turns, 8.0), RATE, online, voiceprint=np.eye(4)[1])
    assert result.recovered == []
    assert [u.id for u in result.utterances] == ["u1"]


def test_an_overlap_the_floor_holder_already_covers_is_dropped() -> None:
    """The voiceprint gave a piece to the rep, whom the diarizer had heard under it: the rep holds that floor,
    so no overlap utterance repeats them there; another speaker's overlap stays."""
    floor = Utterance("u1", "c", "rep", Role.REP, 0.0, 4.0, "words", 1.0, 0.6)
    repeat = Utterance("u1o1", "c", "rep", Role.REP, 1.0, 2.0, "", 0.0, 0.5)
    other = Utterance("u1o2", "c", "spk1", Role.CUSTOMER, 2.0, 2.5, "", 0.0, 0.5)
    assert _not_under_own_floor([repeat, other], [floor]) == [other]


def test_edges_move_in_to_the_diarized_speech_by_at_most_the_segmenters_padding() -> None:
    # u1 has 0.25 s of padding either side of the speech the diarizer hears; u2's speech starts 0.6 s in,
    # soft speech the VAD kept and the diarizer did not: only the padding's worth is trimmed.
    turns = [DiarizedTurn(1.25, 3.75, 1), DiarizedTurn(5.6, 7.0, 2)]
    online = [utt("u1", 1.0, 4.0, "rep", Role.REP), utt("u2", 5.0, 7.2, "spk1", Role.CUSTOMER)]
    result = realigner(turns).realign(audio(turns, 8.0), RATE, online, voiceprint=np.eye(4)[1])
    assert [(u.id, u.start_s, u.end_s) for u in result.utterances] == [("u1", 1.25, 3.85), ("u2", 5.25, 7.05)]
