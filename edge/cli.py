"""The `ridealong` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge import cli_calls, cli_models, cli_rubric, cli_sync, cli_watch
from edge.audio_file import AudioFileError
from edge.call_store import CallStoreError
from edge.enrollment import EnrollmentError
from edge.mic import MicError
from models.errors import ModelError
from rubric_cache.errors import RubricError

USER_ERRORS = (ModelError, AudioFileError, CallStoreError, EnrollmentError, MicError, RubricError)
"""Errors that explain themselves: printed as one line, exit code 2, no traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ridealong", description="Ridealong edge agent")
    sub = parser.add_subparsers(dest="command", required=True)
    cli_models.add_parser(sub)
    cli_calls.add_parsers(sub)
    cli_watch.add_parser(sub)
    cli_rubric.add_parser(sub)
    cli_sync.add_parser(sub)
    demo = sub.add_parser("demo", help="the edge pipeline on a real recording, offline (the pyannote sample)")
    demo.add_argument("--wav", type=Path, help="another audio file")
    demo.add_argument("--asr", default="whisper-tiny.en", help="ASR model name (see `ridealong models list`)")
    demo.add_argument("--trade", help="with --wav of a sales visit: its trade, for the coach's price check")
    demo.add_argument("--db", type=Path, default=cli_calls.default_db(), help="the call store (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "models":
            return cli_models.run(args)
        if args.command == "sync":
            return cli_sync.run(args)
        if args.command == "rubric":
            return cli_rubric.run(args)
        if args.command == "watch":
            return cli_watch.run(args)
        if args.command == "demo":
            from edge.demo import run_demo

            return run_demo(args.wav, args.asr, args.db, args.trade)
        return cli_calls.run(args)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
