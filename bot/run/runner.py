"""Where runs execute: in this process, as asyncio tasks, at most `concurrency` at a time.

This is the seam for scale: a handler records a run and calls `submit(run_id)`; nothing ties
the run to the request that created it. Another runner (a worker queue) would keep this shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine

log = logging.getLogger(__name__)

Execute = Callable[[str], Coroutine[object, object, None]]


class Runner:
    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: dict[str, asyncio.Task] = {}
        self._cancelled_by: dict[str, str] = {}
        self._execute: Execute | None = None
        self.stopping = False
        self._intakes = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    def bind(self, execute: Execute) -> None:
        self._execute = execute

    def submit(self, run_id: str) -> None:
        if self._execute is None:
            raise RuntimeError("Runner.bind(execute) was not called")
        if run_id in self._tasks:
            return
        task = asyncio.create_task(self._execute(run_id), name=f"run-{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda t: self._finished(run_id, t))

    @contextlib.contextmanager
    def intake(self):
        """Held while a request is being taken in (its :eyes: on the way); runs let these go first."""
        self._intakes += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._intakes -= 1
            if not self._intakes:
                self._quiet.set()

    async def intake_quiet(self, max_wait: float = 1.0) -> None:
        """Wait (at most `max_wait`) until no request is being taken in: under a burst, everyone gets
        the sign that they were heard before any run starts its work."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._quiet.wait(), max_wait)

    def slot(self) -> asyncio.Semaphore:
        """Held by a run while it works; runs beyond `concurrency` wait here (status `queued`)."""
        return self._slots

    def busy(self) -> bool:
        return self._slots.locked()

    def is_active(self, run_id: str) -> bool:
        return run_id in self._tasks

    def cancel(self, run_id: str, by: str) -> bool:
        task = self._tasks.get(run_id)
        if task is None or task.done():
            return False
        self._cancelled_by[run_id] = by
        task.cancel()
        return True

    def cancelled_by(self, run_id: str) -> str | None:
        return self._cancelled_by.get(run_id)

    async def shutdown(self, grace: float = 5.0) -> None:
        """Stop every run; each records itself as interrupted and tells its thread."""
        self.stopping = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait(tasks, timeout=grace)

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.wait(list(self._tasks.values()))

    def _finished(self, run_id: str, task: asyncio.Task) -> None:
        self._tasks.pop(run_id, None)
        self._cancelled_by.pop(run_id, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("run %s ended with an unhandled %s", run_id, type(task.exception()).__name__,
                      exc_info=task.exception())
