"""Scripted misbehaviour of the Web API: errors, rate limits, dropped connections and delays."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Fault:
    """How one call fails. `times` None means every call until cleared."""

    method: str
    error: str | None = None
    status: int = 200
    retry_after: int | None = None
    drop_after_accept: bool = False
    times: int | None = 1
    when: Callable[[dict[str, Any]], bool] | None = None  # only calls whose arguments match

    @property
    def error_code(self) -> str:
        if self.error:
            return self.error
        if self.status == 429:
            return "ratelimited"
        return "internal_error"


@dataclass
class Delay:
    method: str
    seconds: float
    times: int | None = 1


class Faults:
    """Faults queued per method, consumed in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._delays: list[Delay] = []

    def fail(
        self,
        method: str,
        error: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        times: int | None = 1,
        drop_after_accept: bool = False,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> Fault:
        if status == 429 and retry_after is None:
            retry_after = 1
        fault = Fault(method, error, status, retry_after, drop_after_accept, times, when)
        self._faults.append(fault)
        return fault

    def delay(self, method: str, seconds: float, times: int | None = 1) -> Delay:
        delay = Delay(method, seconds, times)
        self._delays.append(delay)
        return delay

    def clear(self) -> None:
        self._faults.clear()
        self._delays.clear()

    def take_fault(self, method: str, args: dict[str, Any] | None = None) -> Fault | None:
        fault = next((f for f in self._faults
                      if f.method == method and (f.when is None or f.when(args or {}))), None)
        if fault is not None and fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
        return fault

    def take_delay(self, method: str) -> float:
        delay = next((d for d in self._delays if d.method == method), None)
        if delay is None:
            return 0.0
        if delay.times is not None:
            delay.times -= 1
            if delay.times <= 0:
                self._delays.remove(delay)
        return delay.seconds
