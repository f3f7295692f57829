"""Import a heavy runtime only when an adapter is used, with an error that names the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from models.errors import MissingExtraError


def require(module: str, extra: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(module, extra) from exc
