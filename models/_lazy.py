"""Import a heavy runtime only when an adapter is used, with an error that names the extra."""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

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
