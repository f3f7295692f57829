"""Wire the model provisioner to a terminal progress display."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from models.convert_env import ConvertEnv, ConvertEnvSettings
from models.progress import SilentProgress
from models.provision import Provisioner
from models.selfcheck import SelfChecker
from models.sources import WheelFetcher
from models.store import ModelStore


class RichProgress:
    """One progress row per model: stage name, bytes where measurable, elapsed time."""

    def __init__(self, progress: Any) -> None:
        self._progress = progress
        self._tasks: dict[str, Any] = {}

    def stage(self, model: str, stage: str, total_bytes: int | None = None) -> None:
        description = f"{model}: {stage}"
        task = self._tasks.get(model)
        if task is None:
            self._tasks[model] = self._progress.add_task(description, total=total_bytes)
        else:
            self._progress.update(task, description=description, total=total_bytes, completed=0)

    def advance(self, model: str, n_bytes: int) -> None:
        if model in self._tasks:
            self._progress.advance(self._tasks[model], n_bytes)

    def finished(self, model: str, summary: str) -> None:
        task = self._tasks.get(model)
        if task is None:
            task = self._tasks[model] = self._progress.add_task("", total=1)
        self._progress.update(task, description=f"{model}: {summary}", total=1, completed=1)


@contextlib.contextmanager
def build_provisioner(store: ModelStore, show_progress: bool = True) -> Iterator[Provisioner]:
    env = ConvertEnv(ConvertEnvSettings(store.settings.convert_env_dir, store.settings.home / "logs"))
    fetcher = WheelFetcher(store.settings.downloads_dir)
    checker = SelfChecker(store)
    if not show_progress:
        yield Provisioner(store, fetcher, env, checker, SilentProgress())
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=False) as progress:
        yield Provisioner(store, fetcher, env, checker, RichProgress(progress))
