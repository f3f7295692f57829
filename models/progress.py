"""How provisioning reports progress: a protocol the CLI renders and tests ignore."""

from __future__ import annotations

from typing import Protocol


class ProvisionProgress(Protocol):
    def stage(self, model: str, stage: str, total_bytes: int | None = None) -> None:
        """A new stage began (download, extract, convert, check); ``total_bytes`` if measurable."""

    def advance(self, model: str, n_bytes: int) -> None:
        """``n_bytes`` more of the current stage are done."""

    def finished(self, model: str, summary: str) -> None:
        """The model is provisioned (or was already); ``summary`` is one line for the user."""


class SilentProgress:
    def stage(self, model: str, stage: str, total_bytes: int | None = None) -> None:
        pass

    def advance(self, model: str, n_bytes: int) -> None:
        pass

    def finished(self, model: str, summary: str) -> None:
        pass
