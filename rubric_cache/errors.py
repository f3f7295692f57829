"""Typed rubric errors: each says what is wrong and what to do."""

from __future__ import annotations


class RubricError(Exception):
    """Base of every rubric error."""


class RubricNotFound(RubricError):
    def __init__(self, tenant: str, version: int | None, known: list[int]) -> None:
        have = f"versions {', '.join(map(str, known))}" if known else "no versions yet"
        what = f"has no version {version}" if version is not None else "has no active rubric"
        super().__init__(f"tenant {tenant!r} {what} ({have}): see `ridealong rubric list {tenant}`")


class VersionConflict(RubricError):
    def __init__(self, tenant: str, based_on: int | None, latest: int | None, differs: bool = False) -> None:
        if differs:
            message = (
                f"tenant {tenant!r} already has a different version {based_on}: versions are immutable, "
                "so this copy cannot replace it (resync from the cloud)"
            )
        else:
            message = (
                f"tenant {tenant!r} is at version {latest} but this edit starts from "
                f"{based_on if based_on is not None else 'nothing'}: someone saved a version meanwhile; "
                f"diff against version {latest}, redo the edit on it, and save again"
            )
        super().__init__(message)
        self.latest = latest


class UnchangedRubric(RubricError):
    def __init__(self, tenant: str, version: int) -> None:
        super().__init__(f"nothing changed: the content is the same as tenant {tenant!r} version {version}")


class InvalidRubric(RubricError):
    """A rubric (JSON file, extraction) that does not validate; the message lists each problem."""


class PlaybookError(RubricError):
    """A playbook that cannot be read as one (empty, binary, too large)."""


class ExtractionError(RubricError):
    """The extraction's model answered something that is not a usable rubric (malformed, truncated,
    citing text that is not in the playbook); nothing was stored or activated."""
