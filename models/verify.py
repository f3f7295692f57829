"""Check provisioned models against what provisioning recorded and what the registry pins."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from models.errors import ModelError
from models.registry import ModelSpec
from models.store import ModelStore, sha256_file, spec_fingerprint

OK, MISSING, CORRUPT, STALE, CHECK_FAILED = "ok", "missing", "corrupt", "stale", "self-check-failed"


@dataclass(frozen=True)
class FileStatus:
    file: str
    status: str
    sha256: str | None = None
    expected_sha256: str | None = None
    size_bytes: int | None = None


@dataclass(frozen=True)
class ModelStatus:
    name: str
    kind: str
    required: bool
    status: str
    files: list[FileStatus] = field(default_factory=list)
    detail: str = ""
    fix: str = ""
    self_check: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def pinned_output_sha256(spec: ModelSpec) -> dict[str, str]:
    """Outputs whose bytes the registry itself pins (copied or assembled, not converted)."""
    if spec.conversion is not None:
        return {}
    sources = [f for p in spec.packages for f in p.files]
    parts = Counter(f.save_as for f in sources)
    # A file assembled from parts is pinned by its assembled hash, not by any one part's.
    pinned = {f.save_as: f.sha256 for f in sources if parts[f.save_as] == 1}
    pinned.update(spec.assembled_sha256)
    return pinned


def verify_model(
    spec: ModelSpec,
    store: ModelStore,
    deep_check: Callable[[ModelSpec], dict[str, Any]] | None = None,
) -> ModelStatus:
    fix = f"ridealong models fetch {spec.name} --force"

    def status(state: str, **details: Any) -> ModelStatus:
        return ModelStatus(spec.name, spec.kind.value, spec.default, state, **details)

    try:
        manifest = store.manifest(spec.name)
    except ModelError as exc:
        return status(CORRUPT, detail=exc.reason, fix=fix)
    if manifest is None:
        return status(MISSING, detail="not provisioned", fix=f"ridealong models fetch {spec.name}")
    pinned = pinned_output_sha256(spec)
    files = [_check_file(store, spec, name, manifest, pinned) for name in spec.outputs]
    broken = [f for f in files if f.status != OK]
    if broken:
        detail = "; ".join(f"{store.model_dir(spec.name) / f.file}: {f.status}" for f in broken)
        return status(CORRUPT, files=files, detail=detail, fix=fix)
    if manifest.get("spec_fingerprint") != spec_fingerprint(spec):
        return status(
            STALE, files=files, fix=fix,
            detail="provisioned from an older registry entry",
        )  # fmt: skip
    if deep_check is not None:
        try:
            checks = deep_check(spec)
        except ModelError as exc:
            return status(CHECK_FAILED, files=files, detail=exc.reason, fix=fix)
        return status(OK, files=files, self_check=checks)
    return status(OK, files=files)


def _check_file(
    store: ModelStore, spec: ModelSpec, name: str, manifest: dict[str, Any], pinned: dict[str, str]
) -> FileStatus:
    path = store.model_dir(spec.name) / name
    if not path.is_file():
        return FileStatus(name, MISSING)
    recorded = manifest.get("outputs", {}).get(name, {})
    expected = pinned.get(name) or recorded.get("sha256")
    actual = sha256_file(path)
    status = OK if expected == actual else CORRUPT
    return FileStatus(name, status, actual, expected, path.stat().st_size)
