"""`ridealong replay|live|enroll|calls` as a user runs them: real processes, real models, a real SQLite file.

Includes the crash test (kill -9 mid-call, restart, nothing finalised is lost) and the bad inputs.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from edge.audio_file import AudioFileError
from edge.sources import WavSource, WavSourceSettings
from models.store import default_home
from tests.cli import ridealong
from tests.conftest import REPO


def rows(db: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def sample(shared_data: Path) -> Path:
    return shared_data / "audio" / "pyannote-sample" / "sample.wav"


@pytest.fixture()
def silence(tmp_path: Path) -> Path:
    path = tmp_path / "silence.wav"
    soundfile.write(path, np.zeros(3 * 16_000, dtype=np.float32), 16_000)
    return path


def test_replay_enroll_list_and_show(rendered: dict[str, Path], tmp_path: Path) -> None:
    wav = rendered["kitchen"]
    db = tmp_path / "calls.db"
    enrolled = ridealong("enroll", "--rep", "marcus", "--wav", str(wav).replace(".wav", ".enroll.wav"), "--db", str(db))
    assert enrolled.returncode == 0, enrolled.stderr
    assert "enrolled marcus" in enrolled.stdout
    replay = ridealong("replay", str(wav), "--rep", "marcus", "--db", str(db))
    assert replay.returncode == 0, replay.stderr
    assert "REP" in replay.stdout and "marcus" in replay.stdout and "CUSTOMER" in replay.stdout
    assert "second pass:" in replay.stdout
    listed = json.loads(ridealong("calls", "list", "--json", "--db", str(db)).stdout)
    assert [c["status"] for c in listed] == ["ended"] and listed[0]["rep_id"] == "marcus"
    shown = json.loads(ridealong("calls", "show", listed[0]["id"], "--json", "--db", str(db)).stdout)
    assert shown["pass"] == "second" and len(shown["utterances"]) >= 8
    assert any("Thursday" in u["text"] for u in shown["utterances"])


def test_kill_9_mid_call_then_restart_recovers_every_finalised_utterance(
    sample: Path, silence: Path, tmp_path: Path
) -> None:
    db = tmp_path / "calls.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "replay", str(sample), "--realtime", "--db", str(db)],
        cwd=REPO,
        env={**os.environ, "RIDEALONG_HOME": str(default_home())},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        before: list[tuple] = []  # type: ignore[type-arg]
        while time.monotonic() < deadline:
            try:
                before = rows(db, "SELECT id, text FROM utterances ORDER BY id")
            except sqlite3.OperationalError:  # not created, or not migrated yet
                before = []
            if len(before) >= 2:
                break
            time.sleep(0.2)
        assert before, "the replay stored no utterance within 120 s"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    assert rows(db, "SELECT status FROM calls") == [("recording",)]
    killed_call = rows(db, "SELECT id FROM calls")[0][0]
    before = rows(db, "SELECT id, text FROM utterances ORDER BY id")  # anything committed up to the kill

    restart = ridealong("replay", str(silence), "--no-second-pass", "--db", str(db))
    assert restart.returncode == 0, restart.stderr
    assert f"recovered call {killed_call}" in restart.stdout
    (status, end_s) = rows(db, f"SELECT status, end_s FROM calls WHERE id = '{killed_call}'")[0]
    assert status == "recovered" and end_s > 5.0
    after = rows(db, f"SELECT id, text FROM utterances WHERE call_id = '{killed_call}' ORDER BY id")
    assert after == before and len(after) >= 2
    assert rows(db, f"SELECT COUNT(*) FROM outbox WHERE call_id = '{killed_call}'") == [(1,)]  # queued for sync


def test_a_silent_file_is_a_call_with_no_utterances(silence: Path, tmp_path: Path) -> None:
    out = ridealong("replay", str(silence), "--db", str(tmp_path / "calls.db"))
    assert out.returncode == 0, out.stderr
    assert "0 utterances from 3.0 s" in out.stdout


def test_8khz_stereo_is_resampled_and_keeps_its_timeline(sample: Path, tmp_path: Path) -> None:
    data, rate = soundfile.read(sample, dtype="float32")
    stereo = np.stack([data, data * 0.5], axis=1)[::2]  # 8 kHz by decimation (the content is speech)
    path = tmp_path / "phone.wav"
    soundfile.write(path, stereo, rate // 2)
    db = tmp_path / "calls.db"
    out = ridealong("replay", str(path), "--no-second-pass", "--db", str(db))
    assert out.returncode == 0, out.stderr
    (end_s,) = rows(db, "SELECT end_s FROM calls")[0]
    assert end_s == pytest.approx(30.0, abs=0.05)
    ends = [e for (e,) in rows(db, "SELECT end_s FROM utterances")]
    assert len(ends) >= 3 and max(ends) <= 30.05


def test_the_cheap_webrtc_vad_runs_the_whole_pipeline(sample: Path, tmp_path: Path) -> None:
    db = tmp_path / "calls.db"
    out = ridealong("replay", str(sample), "--vad", "webrtc", "--no-second-pass", "--no-coach", "--db", str(db))
    assert out.returncode == 0, out.stderr
    said = " ".join(text for (text,) in rows(db, "SELECT text FROM utterances ORDER BY start_s")).lower()
    assert "hello" in said and "chicago" in said  # the sample's first words and a later turn's
    assert len({s for (s,) in rows(db, "SELECT speaker_id FROM utterances")}) >= 2


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"this is not audio", "not a readable audio file"), (None, "holds no audio samples")],
    ids=["unreadable", "empty"],
)
def test_bad_files_fail_clearly_and_lose_nothing_stored(
    content: bytes | None, message: str, silence: Path, tmp_path: Path
) -> None:
    db = tmp_path / "calls.db"
    assert ridealong("replay", str(silence), "--no-second-pass", "--db", str(db)).returncode == 0
    bad = tmp_path / "bad.wav"
    if content is None:
        soundfile.write(bad, np.zeros(0, dtype=np.float32), 16_000)
    else:
        bad.write_bytes(content)
    out = ridealong("replay", str(bad), "--db", str(db))
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
    assert rows(db, "SELECT status FROM calls") == [("ended",)]  # the earlier call, untouched


def test_a_file_longer_than_any_call_is_refused(sample: Path) -> None:
    with pytest.raises(AudioFileError, match="split it"):
        WavSource(sample, WavSourceSettings(max_duration_s=10.0))


def test_a_missing_model_fails_before_the_call_starts(silence: Path, tmp_path: Path) -> None:
    db = tmp_path / "calls.db"
    out = ridealong("replay", str(silence), "--db", str(db), env={"RIDEALONG_HOME": str(tmp_path / "empty")})
    assert out.returncode == 2
    assert "ridealong models fetch" in out.stderr and "Traceback" not in out.stderr
    assert rows(db, "SELECT COUNT(*) FROM calls") == [(0,)]


def test_an_unknown_rep_is_named(silence: Path, tmp_path: Path) -> None:
    out = ridealong("replay", str(silence), "--rep", "nobody", "--db", str(tmp_path / "calls.db"))
    assert out.returncode == 2
    assert "not enrolled" in out.stderr and "ridealong enroll --rep nobody" in out.stderr


def test_no_microphone_is_a_clear_error(tmp_path: Path) -> None:
    out = ridealong("live", "--db", str(tmp_path / "calls.db"), env={"HOME": str(tmp_path)})
    assert out.returncode == 2
    assert "no usable input device" in out.stderr and "Traceback" not in out.stderr


def test_live_from_a_microphone(sample: Path, tmp_path: Path) -> None:
    """ALSA's `file` PCM plays the recording as a capture device (see ../shared/ENVIRONMENT.md); it reads
    the raw file at whatever rate the stream asks for, so the stream asks for the file's own."""
    raw = tmp_path / "sample.raw"
    data, _ = soundfile.read(sample, dtype="int16")
    raw.write_bytes(data.astype("<i2").tobytes())
    (tmp_path / ".asoundrc").write_text(
        f'pcm.wavmic {{ type file; slave.pcm "null"; file "/dev/null"; infile "{raw}"; format "raw" }}\n'
    )
    db = tmp_path / "calls.db"
    env = {"HOME": str(tmp_path)}
    listed = ridealong("live", "--list-devices", env=env)
    assert "wavmic" in listed.stdout, listed.stderr
    out = ridealong("live", "--device", "wavmic", "--rate", "16000", "--seconds", "30", "--db", str(db), env=env)
    assert out.returncode == 0, out.stderr
    assert "listening on wavmic" in out.stdout
    (source, end_s) = rows(db, "SELECT source, end_s FROM calls")[0]
    assert source == "mic:wavmic" and end_s == pytest.approx(30.0, abs=0.2)
    texts = " ".join(t for (t,) in rows(db, "SELECT text FROM utterances WHERE pass = 'online'")).lower()
    assert "new jersey" in texts
