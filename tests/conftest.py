"""Shared fixtures: the real provisioned models, the shared labelled data, and CI's no-skip rule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from models.store import ModelStore, StoreSettings

REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"
ARTIFACTS = Path(os.environ.get("RIDEALONG_TEST_ARTIFACTS", REPO / "test-artifacts"))
"""Where tests leave files for a person to look at (screenshots); listed at the end of the run, kept out of git."""


def shared_data_dir() -> Path:
    env = os.environ.get("RIDEALONG_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not (path / "audio").is_dir():
        pytest.fail(f"the shared labelled data is missing at {path} (set RIDEALONG_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def store() -> ModelStore:
    """The models provisioned by scripts/setup.sh (RIDEALONG_HOME)."""
    return ModelStore(StoreSettings())


@pytest.fixture(scope="session")
def tts_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tts-cache")


@pytest.fixture(scope="session")
def rendered(
    tmp_path_factory: pytest.TempPathFactory, shared_data: Path, store: ModelStore, tts_cache: Path
) -> dict[str, Path]:
    """The short fixture call (tests/corpus/fixtures) rendered in every condition with the corpus's
    neural voices: condition name → its WAV, with .rttm, .stm, .roles.json and .enroll.wav beside it."""
    from scripts.corpus.neural_voices import NEURAL_BANK, NeuralSynthesizer
    from scripts.corpus.render import CONDITIONS, render_call
    from scripts.corpus.schema import load_call

    out = tmp_path_factory.mktemp("render")
    synth = NeuralSynthesizer(store, tts_cache, threads=1)  # one thread: the same audio on every run
    call = load_call(REPO / "tests" / "corpus" / "fixtures" / "short-call.json")
    return {
        name: render_call(call, condition, out / name, synth, shared_data / "rooms", bank=NEURAL_BANK).wav
        for name, condition in CONDITIONS.items()
    }


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # In CI a skipped test is a tool that was not installed: that is a failure, not a pass.
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if IN_CI and skipped and exitstatus == 0:
        reporter.write_line(f"CI=true: {skipped} test(s) skipped; install what they need instead", red=True)
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The screenshots and other files tests leave for a person to look at, listed in the output."""
    files = sorted(p for p in ARTIFACTS.rglob("*") if p.is_file()) if ARTIFACTS.is_dir() else []
    if files:
        terminalreporter.section("test artifacts")
        for path in files:
            terminalreporter.write_line(f"{path} ({path.stat().st_size // 1024} KiB)")
