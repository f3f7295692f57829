"""One supervisor owns every asyncio task of a call: the first failure stops the others, in bounded time."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SupervisorSettings:
    cancel_timeout_s: float = 5.0
    """How long a cancelled task may take to clean up before it is abandoned (seconds)."""


class TaskStuckError(RuntimeError):
    def __init__(self, names: list[str]) -> None:
        super().__init__(f"task(s) did not stop within the cancel timeout: {', '.join(names)}")


class Supervisor:
    def __init__(self, settings: SupervisorSettings | None = None) -> None:
        self.settings = settings or SupervisorSettings()
        self._tasks: dict[asyncio.Task[Any], str] = {}

    def start(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks[task] = name
        return task

    async def wait(self) -> None:
        """Wait for every task; if one fails, cancel the rest and raise its error."""
        pending = set(self._tasks)
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    if not task.cancelled() and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
        finally:
            await self.cancel_all()

    async def cancel_all(self) -> None:
        running = [t for t in self._tasks if not t.done()]
        for task in running:
            task.cancel()
        if running:
            _, stuck = await asyncio.wait(running, timeout=self.settings.cancel_timeout_s)
            if stuck:
                raise TaskStuckError([self._tasks[t] for t in stuck])
