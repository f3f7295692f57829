"""A throwaway virtual environment for model conversion, so torch never becomes a run-time need."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from models.errors import ConversionError, DiskFullError
from models.registry import Conversion

CONVERT_SCRIPTS_DIR = Path(__file__).parent / "convert"

# Exactly what the conversion scripts import. torch 2.13.0 is pinned because a CPU build of it is
# what the package index serves these machines; an unpinned torch pulls a multi-GB CUDA build.
CONVERT_REQUIREMENTS: tuple[str, ...] = (
    "torch==2.13.0",
    "numpy==2.4.6",
    "onnx==1.23.2",
    "onnxruntime==1.23.2",  # dynamic int8 quantization and the ONNX-vs-torch checks
    "asteroid-filterbanks==0.4.0",  # SincNet filters of pyannote segmentation
    "einops==0.8.2",
)
# Packages whose code (model classes) the scripts use but whose dependency trees are not wanted.
CONVERT_NO_DEPS: tuple[str, ...] = ("openai-whisper==20250625",)

Run = Callable[..., subprocess.CompletedProcess[str]]


@dataclass(frozen=True)
class ConvertEnvSettings:
    """Where the conversion env lives and how long one conversion may take (seconds)."""

    env_dir: Path
    logs_dir: Path
    timeout_s: float = 1800.0
    scripts_dir: Path = CONVERT_SCRIPTS_DIR
    """Where conversion scripts live (tests point it at scripts of their own)."""


def _requirements_hash() -> str:
    return hashlib.sha256("\n".join(CONVERT_REQUIREMENTS + CONVERT_NO_DEPS).encode()).hexdigest()[:16]


class ConvertEnv:
    def __init__(self, settings: ConvertEnvSettings, run: Run = subprocess.run) -> None:
        self.settings = settings
        self._run = run

    @property
    def python(self) -> Path:
        return self.settings.env_dir / "bin" / "python"

    @property
    def _marker(self) -> Path:
        return self.settings.env_dir / ".ridealong-requirements"

    def is_ready(self) -> bool:
        return self._marker.is_file() and self._marker.read_text().strip() == _requirements_hash()

    def ensure(self, rebuild: bool = False) -> None:
        if self.is_ready() and not rebuild:
            return
        shutil.rmtree(self.settings.env_dir, ignore_errors=True)
        steps = [
            [sys.executable, "-m", "venv", str(self.settings.env_dir)],
            [str(self.python), "-m", "pip", "install", "--quiet", *CONVERT_REQUIREMENTS],
            [str(self.python), "-m", "pip", "install", "--quiet", "--no-deps", *CONVERT_NO_DEPS],
        ]
        for cmd in steps:
            self._check(cmd, "conversion-env", self.settings.logs_dir / "convert-env.log")
        self._marker.write_text(_requirements_hash())

    def convert(self, name: str, conversion: Conversion, src: Path, out: Path) -> float:
        """Run one conversion script; returns its wall time in seconds."""
        self.ensure()
        script = self.settings.scripts_dir / conversion.script
        args = [a.format(src=src, out=out) for a in conversion.args]
        started = time.monotonic()
        self._check([str(self.python), str(script), *args], name, self.settings.logs_dir / f"convert-{name}.log")
        return time.monotonic() - started

    def _check(self, cmd: list[str], name: str, log_path: Path) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "OMP_NUM_THREADS": "2", "PYTHONUNBUFFERED": "1"}
        try:
            result = self._run(
                cmd, capture_output=True, text=True, check=False, timeout=self.settings.timeout_s, env=env
            )
        except subprocess.TimeoutExpired as exc:
            raise ConversionError(name, f"timed out after {self.settings.timeout_s:.0f} s") from exc
        log_path.write_text(f"$ {' '.join(cmd)}\n{result.stdout}\n{result.stderr}")
        if result.returncode != 0:
            output = f"{result.stdout}\n{result.stderr}"
            if "No space left on device" in output:
                raise DiskFullError(Path(cmd[-1]))
            last = [line for line in output.strip().splitlines() if line.strip()][-1:] or ["(no output)"]
            raise ConversionError(name, last[0], log_path)
