"""The `ridealong` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge import cli_models
from edge.audio_file import AudioFileError
from models.errors import ModelError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ridealong", description="Ridealong edge agent")
    sub = parser.add_subparsers(dest="command", required=True)
    cli_models.add_parser(sub)
    demo = sub.add_parser("demo", help="transcribe a real recording offline (the pyannote sample by default)")
    demo.add_argument("--wav", type=Path, help="another audio file to transcribe")
    demo.add_argument("--asr", default="whisper-tiny.en", help="ASR model name (see `ridealong models list`)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "models":
            return cli_models.run(args)
        from edge.demo import run_demo

        return run_demo(args.wav, args.asr)
    except (ModelError, AudioFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
