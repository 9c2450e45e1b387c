"""The record of every request the emulator answered: REST, git smart HTTP and web pages."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Call:
    """One request, as the emulator answered it.

    `path` is relative to the API root for REST calls (`/repos/acme/api/pulls`) and the full
    path for git and web requests (`/acme/api.git/git-receive-pack`). `body` is the JSON body of
    a REST request; for a push, {"updates": [{"old", "new", "ref"}], "rejected": reason or None}.
    """

    method: str
    path: str
    status: int
    body: Any = None
    at: float = field(default_factory=time.monotonic)
    token: str | None = None  # as presented (the token itself, or the JWT)
    login: str | None = None  # whose it is: a user, `<app>[bot]`, or the app's slug for a JWT
    kind: str = "rest"  # rest, git, web
    query: dict[str, str] = field(default_factory=dict)
    service: str | None = None  # git-upload-pack or git-receive-pack
    response: Any = None
    dropped: bool = False
    wall: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        who = self.login or "anonymous"
        extra = f" {self.service}" if self.service else ""
        dropped = " (dropped)" if self.dropped else ""
        return f"{self.kind} {self.method} {self.path}{extra} -> {self.status}{dropped} as {who}"
