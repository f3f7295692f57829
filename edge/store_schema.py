"""The call store's schema, as numbered migrations; ``PRAGMA user_version`` says which ran."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: calls, their utterances (both diarization passes), audio in chunks, an event log, the outbox.
    """
    CREATE TABLE calls (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        rep_id TEXT,
        source TEXT NOT NULL,
        rate_hz INTEGER NOT NULL,
        rubric_version TEXT,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        end_s REAL,
        status TEXT NOT NULL CHECK (status IN ('recording', 'ended', 'recovered'))
    );
    CREATE TABLE utterances (
        id TEXT NOT NULL,
        call_id TEXT NOT NULL REFERENCES calls(id),
        pass TEXT NOT NULL CHECK (pass IN ('online', 'second')),
        speaker_id TEXT NOT NULL,
        role TEXT NOT NULL,
        start_s REAL NOT NULL,
        end_s REAL NOT NULL,
        text TEXT NOT NULL,
        asr_confidence REAL NOT NULL,
        speaker_confidence REAL NOT NULL,
        PRIMARY KEY (call_id, pass, id)
    );
    CREATE TABLE audio_chunks (
        call_id TEXT NOT NULL REFERENCES calls(id),
        seq INTEGER NOT NULL,
        start_sample INTEGER NOT NULL,
        pcm16 BLOB NOT NULL,
        PRIMARY KEY (call_id, seq)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        call_id TEXT REFERENCES calls(id),
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE TABLE outbox (
        call_id TEXT PRIMARY KEY REFERENCES calls(id),
        queued_at TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'synced')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    );
    """,
    # 2: rep voiceprints from enrollment, and the changes the second pass made to the online labels.
    """
    CREATE TABLE voiceprints (
        rep_id TEXT PRIMARY KEY,
        embedding BLOB NOT NULL,
        dim INTEGER NOT NULL,
        model TEXT NOT NULL,
        speech_s REAL NOT NULL,
        consistency REAL NOT NULL,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE relabels (
        call_id TEXT NOT NULL REFERENCES calls(id),
        utterance_id TEXT NOT NULL,
        online_speaker_id TEXT NOT NULL,
        online_role TEXT NOT NULL,
        second_speaker_id TEXT NOT NULL,
        second_role TEXT NOT NULL,
        PRIMARY KEY (call_id, utterance_id)
    );
    """,
    # 3: the live coach: the nudges it sent (citing the utterances that triggered them), and every candidate
    # it weighed with why it fired or not.
    """
    CREATE TABLE nudges (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        call_id TEXT NOT NULL REFERENCES calls(id),
        type TEXT NOT NULL,
        utterance_ids TEXT NOT NULL,
        confidence REAL NOT NULL,
        at_s REAL NOT NULL,
        pattern TEXT NOT NULL,
        reason TEXT NOT NULL,
        latency_s REAL,
        sent_at TEXT NOT NULL
    );
    CREATE TABLE coach_candidates (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        call_id TEXT NOT NULL REFERENCES calls(id),
        type TEXT NOT NULL,
        utterance_ids TEXT NOT NULL,
        confidence REAL NOT NULL,
        at_s REAL NOT NULL,
        fired INTEGER NOT NULL,
        why TEXT NOT NULL,
        llm_label TEXT
    );
    """,
    # 4: how long each utterance's speaker talked over someone as it started (the coach's cut-off evidence).
    """
    ALTER TABLE utterances ADD COLUMN overlap_s REAL NOT NULL DEFAULT 0;
    """,
    # 5: what became of each nudge on the way to the wrist: delivered (with its latency), or expired
    # (never played late), or failed when the call ended first.
    """
    CREATE TABLE nudge_deliveries (
        nudge_id INTEGER PRIMARY KEY REFERENCES nudges(id),
        call_id TEXT NOT NULL REFERENCES calls(id),
        pattern TEXT NOT NULL,
        outcome TEXT NOT NULL,
        link TEXT NOT NULL,
        latency_s REAL NOT NULL,
        attempts INTEGER NOT NULL,
        error TEXT,
        finished_at TEXT NOT NULL
    );
    """,
)
