"""`ModelEmulator`: a local OpenAI-compatible Chat Completions server that answers from a script.

```python
model = ModelEmulator(api_key="sk-sim", models=("sim-model",))
await model.start()                      # 127.0.0.1, an ephemeral port
model.script(Reply.tool_call("search_code", {"pattern": "retry"}), Reply.text("Found it."))
client = openai.AsyncOpenAI(base_url=model.base_url, api_key="sk-sim")
...
assert model.protocol_errors == []
await model.stop()
```
Requests are checked the way the real API checks them (see `validation.py`); a request that fails
gets the real API's 400 and is recorded in `protocol_errors`, and consumes no scripted reply.
When the script does not fit a valid request (nothing left, or a tool call the request does not
offer) the answer is a 500 with `x-should-retry: false`, so the client fails at once and the
mismatch is recorded too.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import json
import logging
import math
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from sim.model.completions import chunks, completion
from sim.model.errors import InvalidRequest, ScriptMismatch
from sim.model.replies import Reply, ScriptItem, random_id
from sim.model.validation import check_request

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024 * 1024  # agent conversations with big tool results exceed aiohttp's 1 MiB default
MODELS_CREATED = 1_700_000_000
_NO_RETRY = {"x-should-retry": "false"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ModelEmulator:
    def __init__(self, api_key: str | None = "sk-sim", models: Iterable[str] = ("sim-model",)) -> None:
        self.api_key = api_key  # None: no auth check, like a local Ollama
        self.models = tuple(models)
        self.default: ScriptItem | None = None  # answers when the script is empty
        self.requests: list[dict[str, Any]] = []  # valid chat completion bodies, in arrival order
        self.protocol_errors: list[str] = []
        self.streaming_supported = True
        self.usage_reported = True
        self.calls_in_flight = 0
        self.max_calls_in_flight = 0
        self.base_url = ""
        self._script: deque[ScriptItem] = deque()
        self._received = asyncio.Condition()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # ----- test-facing ----------------------------------------------------------------------
    def script(self, *items: ScriptItem) -> None:
        """Queue replies, one per chat completion request: `Reply`s or callables `request -> Reply`."""
        for item in items:
            if not isinstance(item, Reply) and not callable(item):
                raise TypeError(f"script items are Reply objects or callables, not {type(item).__name__}")
        self._script.extend(items)

    @property
    def replies_left(self) -> int:
        return len(self._script)

    async def wait_for_requests(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """Wait until `count` valid chat completion requests have arrived; returns them."""
        async with self._received:
            try:
                async with asyncio.timeout(timeout):
                    await self._received.wait_for(lambda: len(self.requests) >= count)
            except TimeoutError:
                raise TimeoutError(
                    f"sim: waited {timeout:g} s for {count} requests, {len(self.requests)} arrived"
                ) from None
        return self.requests[:count]

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> ModelEmulator:
        if self._runner is not None:
            raise RuntimeError("the model emulator is already running")
        self._received = asyncio.Condition()
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[self._envelope])
        app.on_response_prepare.append(self._add_request_id)
        app.router.add_get("/v1/models", self._list_models)
        app.router.add_get("/v1/models/{model}", self._get_model)
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_route("*", "/{tail:.*}", self._unknown_route)
        # handler_cancellation: a client that gives up (timeout) ends its handler instead of leaving it hanging.
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        bound_port = runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound_port}/v1"
        return self

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._stopping.set()  # releases hangs, delays and paced streams
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> ModelEmulator:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ----- HTTP ------------------------------------------------------------------------------
    @web.middleware
    async def _envelope(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Turn an emulator bug into a loud, recorded 500 rather than aiohttp's bare text one."""
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as exc:
            log.exception("model emulator failed on %s %s", request.method, request.path)
            self._record(f"sim: the emulator failed: {type(exc).__name__}: {exc}")
            failure = ScriptMismatch(f"sim: the emulator failed: {type(exc).__name__}")
            return web.json_response(failure.body(), status=500, headers=_NO_RETRY)

    @staticmethod
    async def _add_request_id(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["x-request-id"] = random_id("req_", 32)

    def _unauthorized(self, request: web.Request) -> web.Response | None:
        if self.api_key is None:
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() == "bearer" and secrets.compare_digest(key.strip(), self.api_key):
            return None
        if scheme.lower() != "bearer" or not key.strip():
            message = (
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
        else:
            message = f"Incorrect API key provided: {_masked(key.strip())}. Check the key you configured."
        error = InvalidRequest(message, code="invalid_api_key", status=401)
        return web.json_response(error.body(), status=401)

    async def _list_models(self, request: web.Request) -> web.Response:
        if denied := self._unauthorized(request):
            return denied
        return web.json_response({"object": "list", "data": [_model_object(m) for m in self.models]})

    async def _get_model(self, request: web.Request) -> web.Response:
        if denied := self._unauthorized(request):
            return denied
        name = request.match_info["model"]
        if name not in self.models:
            return _model_not_found(name)
        return web.json_response(_model_object(name))

    async def _unknown_route(self, request: web.Request) -> web.Response:
        error = InvalidRequest(f"Invalid URL ({request.method} {request.path})", status=404)
        return web.json_response(error.body(), status=404)

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        if denied := self._unauthorized(request):
            return denied
        try:
            body = json.loads(await request.read())
        except ValueError:
            return self._refuse(
                InvalidRequest(
                    "We could not parse the JSON body of your request. The API expects a JSON payload, "
                    "but what was sent was not valid JSON."
                )
            )
        if isinstance(body, dict) and isinstance(body.get("model"), str) and body["model"] not in self.models:
            return _model_not_found(body["model"])
        try:
            policy = check_request(body)
        except InvalidRequest as exc:
            return self._refuse(exc)
        if body.get("stream") and not self.streaming_supported:
            # A capability of the emulated server, not the caller's mistake: not a protocol error.
            error = InvalidRequest("stream is not supported", param="stream", code="unsupported_parameter")
            return web.json_response(error.body(), status=400)
        async with self._received:
            self.requests.append(body)
            self._received.notify_all()
        self.calls_in_flight += 1
        self.max_calls_in_flight = max(self.max_calls_in_flight, self.calls_in_flight)
        try:
            try:
                reply = await self._next_reply(body)
                policy.check(reply)
                if policy.forced and reply.calls and reply.finish_reason is None:
                    reply = dataclasses.replace(reply, finish_reason="stop")  # as the real API says then
            except ScriptMismatch as exc:
                self._record(f"{exc} (request {len(self.requests)}: {_last_message(body)})")
                return web.json_response(exc.body(), status=500, headers=_NO_RETRY)
            return await self._answer(request, body, reply)
        finally:
            self.calls_in_flight -= 1

    # ----- answering -------------------------------------------------------------------------
    async def _next_reply(self, body: dict[str, Any]) -> Reply:
        if self._script:
            item = self._script.popleft()
        elif self.default is not None:
            item = self.default
        else:
            raise ScriptMismatch("sim: no scripted reply left")
        if isinstance(item, Reply):
            return item
        try:
            reply = item(body)
            if inspect.isawaitable(reply):
                reply = await reply
        except Exception as exc:
            raise ScriptMismatch(f"sim: scripted reply raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(reply, Reply):
            raise ScriptMismatch(f"sim: scripted callable returned {type(reply).__name__}, not a Reply")
        return reply

    async def _answer(self, request: web.Request, body: dict[str, Any], reply: Reply) -> web.StreamResponse:
        if reply.hangs:
            await self._stopping.wait()  # or the client disconnects and aiohttp cancels this handler
            return _stopping_response()
        if reply.delay and await self._stopped_during(reply.delay):
            return _stopping_response()
        if reply.is_error:
            return web.json_response(
                {"error": dict(reply.error_body or {})}, status=reply.status, headers=_error_headers(reply)
            )
        if reply.raw is not None and not body.get("stream"):
            return web.Response(text=reply.raw, content_type="application/json")
        ids = {"completion_id": random_id("chatcmpl-", 29), "created": int(time.time())}
        if not body.get("stream"):
            return web.json_response(completion(body, reply, **ids, with_usage=self.usage_reported))
        stream = web.StreamResponse(
            headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
        )
        await stream.prepare(request)
        with contextlib.suppress(ConnectionError):  # the client went away mid-stream: nothing to tell it
            events = [reply.raw] if reply.raw is not None else (
                json.dumps(chunk) for chunk in chunks(body, reply, **ids, with_usage=self.usage_reported)
            )
            for position, event in enumerate(events):
                if position and reply.chunk_delay and await self._stopped_during(reply.chunk_delay):
                    return stream
                await stream.write(f"data: {event}\n\n".encode())
            await stream.write(b"data: [DONE]\n\n")
            await stream.write_eof()
        return stream

    async def _stopped_during(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        return self._stopping.is_set()

    def _refuse(self, error: InvalidRequest) -> web.Response:
        where = f" (param {error.param})" if error.param else ""
        self._record(f"HTTP {error.status}{where}: {error.message}")
        return web.json_response(error.body(), status=error.status)

    def _record(self, problem: str) -> None:
        log.warning("model emulator: %s", problem)
        self.protocol_errors.append(problem)


def _model_object(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": MODELS_CREATED, "owned_by": "sim"}


def _model_not_found(name: str) -> web.Response:
    error = InvalidRequest(
        f"The model `{name}` does not exist or you do not have access to it.",
        code="model_not_found",
        status=404,
    )
    return web.json_response(error.body(), status=404)


def _masked(key: str) -> str:
    return key[:3] + "*" * max(len(key) - 7, 1) + key[-4:] if len(key) > 8 else "*" * len(key)


def _stopping_response() -> web.Response:
    return web.json_response(
        ScriptMismatch("sim: the emulator is stopping").body(), status=503, headers=_NO_RETRY
    )


def _error_headers(reply: Reply) -> dict[str, str]:
    headers: dict[str, str] = {}
    if reply.retry_after is not None:
        headers["retry-after"] = str(math.ceil(reply.retry_after))
        headers["retry-after-ms"] = str(round(reply.retry_after * 1000))
    if reply.status == 429:
        headers.update(
            {
                "x-ratelimit-limit-requests": "3",
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "20s",
            }
        )
    return headers


def _last_message(body: dict[str, Any]) -> str:
    last = body["messages"][-1]
    content = last.get("content")
    text = content if isinstance(content, str) else json.dumps(content)
    text = text if len(text) <= 80 else text[:77] + "..."
    return f"last message {last.get('role')}: {text}"
