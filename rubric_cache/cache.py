"""The edge's rubric cache: the tenant's active rubric, kept for offline use and pinned per call.

At the start of a call the agent asks the cloud for the tenant's active rubric when it can (a short
timeout: a rep in a basement has no signal), keeps whatever it gets in its own ``RubricStore``, and
pins one rubric for the whole call: the tenant's active version, or the trade's starter rubric if the
tenant has none. The pin is stored on the call; nothing changes it until the call ends, even if a new
version arrives meanwhile. A starter's ref carries its content fingerprint, since starters can change
between app releases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rubric_cache.schema import Rubric, RubricContent
from rubric_cache.starter import TRADES, starter_rubric
from rubric_cache.store import RubricStore


class RubricSource(Protocol):
    """Where active rubrics come from (the cloud service). Raises ``OSError`` or ``TimeoutError`` offline."""

    def active_rubric(self, tenant: str) -> Rubric | None: ...


@dataclass(frozen=True)
class PinnedRubric:
    ref: str
    """"acme@3" for a tenant's version, "starter:hvac@<fingerprint>" for a trade's starter."""
    content: RubricContent


@dataclass(frozen=True)
class RefreshResult:
    tenant: str
    version: int | None
    """The active version now cached (None: the tenant has none)."""
    changed: bool
    offline: str | None = None
    """Why the cloud could not be asked (the cached rubric is used)."""


class EdgeRubricCache:
    def __init__(self, store: RubricStore, source: RubricSource | None = None) -> None:
        self.store = store
        self._source = source

    def refresh(self, tenant: str) -> RefreshResult:
        cached = self.store.active(tenant)
        before = cached.version if cached else None
        if self._source is None:
            return RefreshResult(tenant, before, False, "no cloud configured")
        try:
            rubric = self._source.active_rubric(tenant)
        except (OSError, TimeoutError) as exc:  # no signal: the cached rubric stands
            return RefreshResult(tenant, before, False, f"{type(exc).__name__}: {exc}")
        if rubric is None:
            return RefreshResult(tenant, before, False)
        self.store.put(rubric)
        if before != rubric.version:
            self.store.activate(tenant, rubric.version)
        return RefreshResult(tenant, rubric.version, before != rubric.version)

    def pin(self, tenant: str, trade: str | None) -> PinnedRubric | None:
        """The rubric this call uses, fixed until it ends; None when the tenant has no rubric and the
        trade has no starter (then no step is checked live)."""
        active = self.store.active(tenant)
        if active is not None:
            return PinnedRubric(active.ref, active.content)
        if trade in TRADES:
            content = starter_rubric(trade)
            return PinnedRubric(f"starter:{trade}@{content.fingerprint()[:12]}", content)
        return None
