"""The paired watch, remembered between runs: a small JSON file (address, name, profile, adapter)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from haptics.errors import WatchError
from haptics.profiles import Profile


@dataclass(frozen=True)
class PairedWatch:
    address: str
    name: str | None
    profile: Profile
    adapter: str | None = None


class PairedWatchFileError(WatchError):
    """The paired-watch file cannot be read."""


class PairedWatchFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> PairedWatch | None:
        if not self.path.exists():
            return None
        try:
            raw = json.loads(self.path.read_text())
            return PairedWatch(raw["address"], raw.get("name"), Profile(raw["profile"]), raw.get("adapter"))
        except (ValueError, KeyError, TypeError) as exc:
            raise PairedWatchFileError(
                f"{self.path} is not a paired-watch file ({exc})", "pair again: ridealong watch pair ADDRESS"
            ) from exc

    def save(self, watch: PairedWatch) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**asdict(watch), "profile": watch.profile.value}, indent=2) + "\n")
        os.replace(tmp, self.path)  # never a half-written file

    def forget(self) -> None:
        self.path.unlink(missing_ok=True)
