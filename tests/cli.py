"""Run `ridealong` as a user does: a real process, from the checkout, with the provisioned models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from models.store import default_home
from tests.conftest import REPO


def ridealong(
    *args: str, home: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``home``: the model store (default: the provisioned one, pinned so a test's own HOME cannot move it)."""
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "RIDEALONG_HOME": str(home or default_home()), **(env or {})},
        timeout=timeout,
    )
