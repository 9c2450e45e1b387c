"""Scripted misbehaviour: error answers, secondary rate limits, 429s and dropped connections."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

API_PREFIX = "/api/v3"
SECONDARY_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
DEFAULT_MESSAGES = {
    401: "Bad credentials",
    403: SECONDARY_LIMIT,
    404: "Not Found",
    422: "Validation Failed",
    429: SECONDARY_LIMIT,
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
}


def api_relative(path: str) -> str:
    return path[len(API_PREFIX) :] or "/" if path.startswith(API_PREFIX + "/") or path == API_PREFIX else path


@dataclass
class Fault:
    """How matching requests fail. `times` None means every one until cleared."""

    method: str  # GET, POST, ... or *
    path: str  # exact or a glob; REST paths with or without /api/v3
    status: int = 500
    message: str | None = None
    retry_after: int | None = None
    drop_after_accept: bool = False
    times: int | None = 1
    when: Callable[[Any], bool] | None = None  # only requests whose JSON body ({} if none) matches

    def matches(self, method: str, path: str, body: Any) -> bool:
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        if not fnmatch.fnmatchcase(api_relative(path), api_relative(self.path)):
            return False
        return self.when is None or bool(self.when(body))

    @property
    def text(self) -> str:
        return self.message or DEFAULT_MESSAGES.get(self.status, "Error")


class Faults:
    """Faults consumed in the order they were added."""

    def __init__(self) -> None:
        self.pending: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        if fault.status == 429 and fault.retry_after is None:
            fault.retry_after = 1
        self.pending.append(fault)
        return fault

    def clear(self) -> None:
        self.pending.clear()

    def take(self, method: str, path: str, body: Any = None) -> Fault | None:
        body = {} if body is None else body
        fault = next((f for f in self.pending if f.matches(method, path, body)), None)
        if fault is not None and fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                self.pending.remove(fault)
        return fault
