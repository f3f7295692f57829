#!/usr/bin/env bash
# Set up everything, then transcribe a real recording offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ridealong demo "$@"
