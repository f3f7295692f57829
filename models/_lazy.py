"""Import a heavy runtime only when an adapter is used, with an error that names the extra."""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from models.errors import MissingExtraError, ModelCorruptError


def quiet_onnxruntime() -> None:
    """onnxruntime's Linux wheels phone home (Microsoft telemetry) unless told not to before import;
    the agent runs offline in customers' homes and must not try."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


def require(module: str, extra: str) -> ModuleType:
    quiet_onnxruntime()
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(module, extra) from exc


@contextlib.contextmanager
def loading(path: Path) -> Iterator[None]:
    """Turn a runtime's refusal to load a model file into a typed error naming the file."""
    try:
        yield
    except (RuntimeError, ValueError) as exc:
        name = path.parent.name or path.name
        raise ModelCorruptError(name, path, f"the runtime could not load it: {exc}") from exc


def onnx_session(model_path: Path, num_threads: int) -> Any:
    """An onnxruntime CPU session for ``model_path`` on ``num_threads`` threads (ModelCorruptError if unloadable)."""
    ort = require("onnxruntime", "speech")
    options = ort.SessionOptions()
    options.intra_op_num_threads = num_threads
    options.inter_op_num_threads = 1
    with loading(model_path):
        return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
