"""What the emulators share: the calls they received, listeners, and waiting for a condition to hold.

Tests await `wait_for(predicate)`: the predicate is re-checked after every change the emulator
reports with `_notify()` (a call, a delivery, a push), so tests wait for facts, not for time.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

log = logging.getLogger(__name__)

Listener = Callable[[str, Any], None]


class Summarized(Protocol):
    def summary(self) -> str: ...


CallT = TypeVar("CallT", bound=Summarized)


class CallLog(Generic[CallT]):
    label = "emulator"  # in log lines
    nothing_yet = "(no calls)"  # in a timeout report with no calls
    copy_events = False  # give listeners a deep copy of each event's data

    def __init__(self) -> None:
        self.calls: list[CallT] = []
        self.listeners: list[Listener] = []
        self._changed = asyncio.Event()

    # The timeout parameter is the public API the bot's tests use (hence the noqa).
    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:  # noqa: ASYNC109
        """Re-check `predicate` after every change; return its truthy value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            changed = self._changed
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(self._timeout_report(predicate, timeout))
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                pass

    def _timeout_report(self, predicate: Callable[[], Any], timeout: float) -> str:
        name = getattr(predicate, "__name__", repr(predicate))
        lines = [f"condition {name} still false after {timeout}s; last calls:"]
        lines += [f"  {c.summary()}" for c in self.calls[-15:]] or [f"  {self.nothing_yet}"]
        return "\n".join(lines)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _emit(self, kind: str, data: Any) -> None:
        for listener in list(self.listeners):
            try:
                listener(kind, copy.deepcopy(data) if self.copy_events else data)
            except Exception:
                log.exception("%s listener %r failed on %s", self.label, listener, kind)

    def _record(self, call: CallT) -> None:
        self.calls.append(call)
        self._emit("call", call)
        self._notify()
