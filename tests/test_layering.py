"""The layering rules of DESIGN.md, checked on the source: who may import whom, and which heavy
libraries may be imported at module top."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("edge", "cloud_sync", "models", "haptics", "rubric_cache")
MAY_IMPORT = {
    "models": set(),
    "haptics": set(),
    "rubric_cache": {"models"},
    "cloud_sync": {"models", "rubric_cache"},
    "edge": {"models", "haptics", "rubric_cache", "cloud_sync"},
}
HEAVY = {
    "sherpa_onnx",
    "llama_cpp",
    "onnxruntime",
    "sounddevice",
    "bleak",
    "anthropic",
    "torch",
    "tokenizers",
}
ADAPTER_ONLY = {"sherpa_onnx", "llama_cpp", "onnxruntime"}


def imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def sources(package: str) -> list[Path]:
    # Conversion scripts run in their own throwaway environment, never imported by the package.
    return [p for p in (REPO / package).rglob("*.py") if "convert" not in p.parts]


def test_no_package_imports_upward_or_sideways() -> None:
    for package in PACKAGES:
        forbidden = set(PACKAGES) - MAY_IMPORT[package] - {package}
        for path in sources(package):
            bad = imports(path, top_level_only=False) & forbidden
            assert not bad, f"{path.relative_to(REPO)} imports {bad}"


def test_heavy_libraries_are_never_imported_at_module_top() -> None:
    for package in PACKAGES:
        for path in sources(package):
            bad = imports(path, top_level_only=True) & HEAVY
            assert not bad, f"{path.relative_to(REPO)} imports {bad} at module top"


def test_only_models_touches_the_inference_runtimes() -> None:
    for package in set(PACKAGES) - {"models"}:
        for path in sources(package):
            bad = imports(path, top_level_only=False) & ADAPTER_ONLY
            assert not bad, f"{path.relative_to(REPO)} imports {bad}: only models/ adapters may"


def test_import_edge_needs_numpy_alone() -> None:
    # A meta-path hook that refuses every heavy module proves nothing reaches for one on import.
    probe = (
        "import sys\n"
        f"blocked = {sorted(HEAVY | {'soundfile', 'soxr', 'rich', 'httpx', 'sqlite_utils', 'pydantic'})!r}\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in blocked: raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import edge, edge.cli, models, models.loaders, models.selfcheck, haptics, rubric_cache, cloud_sync\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
