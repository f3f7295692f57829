"""`ridealong demo`: the edge pipeline on a real recording, offline, end to end.

The recording is replayed as if live (VAD → speaker attribution → Whisper → call store, each
utterance printed as it is finalised, the live coach watching and printing any nudge), then the
second pass re-aligns the speakers over the whole call and its transcript is printed. The call stays
in the store: `ridealong calls list`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from edge import cli_calls
from models.registry import DEMO_RECORDING, get_spec
from models.store import ModelStore, StoreSettings


def run_demo(wav: Path | None, asr_model: str, db: Path, trade: str | None = None) -> int:
    path = wav or ModelStore(StoreSettings()).require(get_spec(DEMO_RECORDING)) / "sample.wav"
    from edge.cli import build_parser  # the replay command's own parser: its defaults are never typed twice

    argv = ["replay", str(path), "--asr", asr_model, "--db", str(db), *(["--trade", trade] if trade else [])]
    code = cli_calls.run(build_parser().parse_args(argv))
    if code == 0:
        call_id = cli_calls.last_call_id(db)
        print("\nafter the call, the second pass:")
        code = cli_calls.run(argparse.Namespace(command="calls", calls_command="show", call_id=call_id,
                                                pass_="second", json=False, db=db))  # fmt: skip
    return code
