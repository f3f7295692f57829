#!/usr/bin/env bash
# Set up everything, then run the linters, the type checker and the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
printf '\n== ruff\n'
.venv/bin/ruff check .
.venv/bin/ruff format --check .
printf '\n== mypy\n'
.venv/bin/mypy
printf '\n== pytest\n'
.venv/bin/pytest "$@"
