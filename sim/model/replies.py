"""What a test scripts the emulated model to say, one `Reply` per request.

```python
model.script(
    Reply.tool_call("search_code", {"pattern": "retry"}),
    Reply.text("The answer is **4**."),
    Reply.error(429, retry_after=0.2),
    Reply.hang(),
    Reply.raw_body({"choices": []}),  # status 200, but not a chat completion
)
```
A reply is a plain frozen value; the server turns it into a completion, a stream or an error.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_ALPHABET = string.ascii_letters + string.digits

# Default error bodies per status, worded like the real API's.
_ERROR_DEFAULTS: dict[int, tuple[str, str, str | None]] = {
    400: ("invalid_request_error", "Invalid request.", None),
    401: ("invalid_request_error", "Incorrect API key provided.", "invalid_api_key"),
    403: ("permission_error", "You are not allowed to sample from this model.", None),
    404: ("invalid_request_error", "The requested resource does not exist.", None),
    408: ("server_error", "Request timed out.", None),
    409: ("invalid_request_error", "The request conflicted with another one.", None),
    429: ("requests", "Rate limit reached for requests.", "rate_limit_exceeded"),
    500: ("server_error", "The server had an error while processing your request. Sorry about that!", None),
    502: ("server_error", "Bad gateway.", None),
    503: ("server_error", "The engine is currently overloaded, please try again later.", None),
}


def random_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class ScriptedCall:
    """One tool call the model makes; `arguments` is sent verbatim (it may be deliberately broken JSON)."""

    name: str
    arguments: str
    id: str

    @classmethod
    def of(
        cls, name: str, arguments: Mapping[str, Any] | str | None = None, *, id: str | None = None
    ) -> ScriptedCall:
        if arguments is None:
            arguments = {}
        text = arguments if isinstance(arguments, str) else json.dumps(dict(arguments))
        return cls(name=name, arguments=text, id=id or random_id("call_"))

    def as_message_part(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


CallSpec = ScriptedCall | tuple[str, Mapping[str, Any] | str] | tuple[str]


def _calls(specs: Iterable[CallSpec]) -> tuple[ScriptedCall, ...]:
    calls = tuple(spec if isinstance(spec, ScriptedCall) else ScriptedCall.of(*spec) for spec in specs)
    if len({call.id for call in calls}) != len(calls):
        raise ValueError("tool call ids within one reply must be distinct")
    return calls


@dataclass(frozen=True)
class Reply:
    """One answer of the emulated model: a message (text and/or tool calls), an HTTP error, or silence."""

    content: str | None = None
    calls: tuple[ScriptedCall, ...] = ()
    finish_reason: str | None = None  # None: "tool_calls" if there are calls, else "stop"
    status: int = 200
    error_body: Mapping[str, Any] | None = None  # the response's "error" object for status >= 400
    retry_after: float | None = None
    hangs: bool = False
    delay: float = 0.0  # seconds before the response starts
    chunk_delay: float = 0.0  # seconds between streamed chunks
    raw: str | None = None  # sent verbatim instead of a completion (the body, or a stream's one event)

    # ----- builders -------------------------------------------------------------------------
    @classmethod
    def text(
        cls,
        content: str,
        *,
        tool_calls: Iterable[CallSpec] = (),
        finish_reason: str | None = None,
        delay: float = 0.0,
        chunk_delay: float = 0.0,
    ) -> Reply:
        """A final answer; with `tool_calls=[(name, args), ...]` the text comes with tool calls."""
        return cls(
            content=content,
            calls=_calls(tool_calls),
            finish_reason=finish_reason,
            delay=delay,
            chunk_delay=chunk_delay,
        )

    @classmethod
    def tool_call(
        cls,
        name: str,
        arguments: Mapping[str, Any] | str | None = None,
        *,
        id: str | None = None,
        delay: float = 0.0,
        chunk_delay: float = 0.0,
    ) -> Reply:
        """An assistant message with one tool call and no text; the id is `call_…` unless given."""
        call = ScriptedCall.of(name, arguments, id=id)
        return cls(calls=(call,), delay=delay, chunk_delay=chunk_delay)

    @classmethod
    def tool_calls(cls, *calls: CallSpec, delay: float = 0.0, chunk_delay: float = 0.0) -> Reply:
        """Several parallel tool calls in one assistant message: `Reply.tool_calls(("a", {...}), ("b", {}))`."""
        if not calls:
            raise ValueError("Reply.tool_calls needs at least one call")
        return cls(calls=_calls(calls), delay=delay, chunk_delay=chunk_delay)

    @classmethod
    def error(
        cls,
        status: int,
        *,
        message: str | None = None,
        code: str | None = None,
        type: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
        delay: float = 0.0,
    ) -> Reply:
        """An HTTP error with the real API's body shape; 429 also sends Retry-After when given."""
        if status < 400:
            raise ValueError("Reply.error needs an HTTP error status (>= 400)")
        default_type, default_message, default_code = _ERROR_DEFAULTS.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", f"HTTP {status}", None)
        )
        if status == 429 and message is None:
            wait = f" Please try again in {retry_after:g}s." if retry_after is not None else ""
            default_message = (
                "Rate limit reached for requests in organization org-sim on requests per min (RPM): "
                f"Limit 3, Used 3, Requested 1.{wait}"
            )
        body = {
            "message": message if message is not None else default_message,
            "type": type or default_type,
            "param": param,
            "code": code if code is not None else default_code,
        }
        return cls(status=status, error_body=body, retry_after=retry_after, delay=delay)

    @classmethod
    def raw_body(cls, body: Any) -> Reply:
        """Something that is not a chat completion, with status 200: `body` as JSON (a `str` as is),
        as the whole response or, to a streaming request, as the stream's one `data:` event."""
        return cls(raw=body if isinstance(body, str) else json.dumps(body))

    @classmethod
    def hang(cls) -> Reply:
        """Never answer: the request stays open until the client gives up or the emulator stops."""
        return cls(hangs=True)

    # ----- derived --------------------------------------------------------------------------
    @property
    def is_error(self) -> bool:
        return self.status >= 400

    @property
    def resolved_finish_reason(self) -> str:
        return self.finish_reason or ("tool_calls" if self.calls else "stop")


ReplyFactory = Callable[[dict[str, Any]], "Reply | Awaitable[Reply]"]
ScriptItem = Reply | ReplyFactory
