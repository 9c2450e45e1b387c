"""The two ways a request can fail inside the emulator.

`InvalidRequest` is what the real API would answer with a 400 (or the given status): the caller
broke the protocol. `ScriptMismatch` is the emulator's own 500: the test's script does not fit the
request (no reply left, a tool call to a tool the request does not offer...). Both are recorded
in `ModelEmulator.protocol_errors` so that a test fails loudly.
"""

from __future__ import annotations

from typing import Any


class InvalidRequest(Exception):
    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int = 400,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.status = status
        self.type = type

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class ScriptMismatch(Exception):
    """The scripted reply cannot answer this request; the message starts with "sim: "."""

    def body(self) -> dict[str, Any]:
        return {"error": {"message": str(self), "type": "server_error", "param": None, "code": None}}
