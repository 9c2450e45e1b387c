"""The model: any OpenAI-compatible Chat Completions endpoint, through the `openai` package.

Retries (429 with Retry-After, 5xx, connection errors) are the client's own; what is left after
them is mapped, in one table, to a `ModelError` that names the cause and the fix. Streams when
the endpoint does; in `auto` mode a 400 that names `stream` switches to plain requests for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import openai

from bot.agent.tokens import count_messages, count_text, count_tools
from bot.errors import ModelError
from bot.settings import Settings

log = logging.getLogger(__name__)

# Requests go through the client's documented `post()` with plain JSON in and out. The typed
# `chat.completions.create()` re-walks every message through type introspection and builds a
# pydantic model per streamed chunk: about 4x the CPU per call, for JSON we build ourselves.
# Retries, auth, timeouts and error types are the client's either way.
CHAT_PATH = "/chat/completions"

TextCallback = Callable[[str], Awaitable[None]]


class ContextTooLongError(Exception):
    """The endpoint says the prompt does not fit; the agent compacts and tries again."""


@dataclass
class Completion:
    text: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def message(self) -> dict[str, Any]:
        """The assistant message as it goes back into the conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            message["tool_calls"] = self.tool_calls
        return message


class ChatModel:
    def __init__(self, settings: Settings, client: openai.AsyncOpenAI | None = None) -> None:
        self.settings = settings
        self.name = settings.model or ""
        self.client = client or openai.AsyncOpenAI(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key or "not-needed",
            timeout=settings.model_timeout,
            max_retries=settings.model_retries,
            # aiohttp as the transport (the SDK's own option): httpcore's pool scans every open
            # connection for each new request, which turns quadratic with 100+ runs in flight.
            http_client=openai.DefaultAioHttpClient(timeout=settings.model_timeout),
        )
        self.streaming = settings.model_stream != "off"

    async def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        *,
        tool_choice: str | None = None,
        on_text: TextCallback | None = None,
    ) -> Completion:
        started = time.monotonic()
        request: dict[str, Any] = {"model": self.name, "messages": messages}
        if tools:
            request["tools"] = tools
            if tool_choice:
                request["tool_choice"] = tool_choice
        try:
            if self.streaming:
                try:
                    completion = await self._streamed(request, on_text)
                except openai.BadRequestError as exc:
                    if self.settings.model_stream != "auto" or "stream" not in str(exc).lower():
                        raise
                    log.info("model endpoint does not stream; using plain requests from now on")
                    self.streaming = False
                    completion = await self._plain(request, on_text)
            else:
                completion = await self._plain(request, on_text)
        except openai.OpenAIError as exc:
            raise self._mapped(exc, time.monotonic() - started) from exc
        if not completion.prompt_tokens or not completion.completion_tokens:  # the endpoint did not say: count
            await asyncio.to_thread(_count_usage, completion, messages, tools)
        return completion

    async def close(self) -> None:
        await self.client.close()

    async def list_models(self) -> list[str]:
        try:
            page = await self.client.models.list()
        except openai.OpenAIError as exc:
            raise self._mapped(exc) from exc
        return [m.id for m in page.data]


    async def _plain(self, request: dict[str, Any], on_text: TextCallback | None) -> Completion:
        try:
            response = await self.client.post(CHAT_PATH, body=request, cast_to=object)
        except json.JSONDecodeError as exc:  # a body the client could not read as JSON
            raise _malformed(exc) from exc
        try:
            completion = _parsed(response)
        except _MALFORMED as exc:
            raise _malformed(exc) from exc
        if completion.text and on_text:
            await on_text(completion.text)
        return completion

    async def _streamed(self, request: dict[str, Any], on_text: TextCallback | None) -> Completion:
        stream = await self.client.post(
            CHAT_PATH, body={**request, "stream": True, "stream_options": {"include_usage": True}},
            cast_to=object, stream=True, stream_cls=openai.AsyncStream[object],
        )
        completion = Completion(text="")
        parts: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        # Both closed at once even when on_text raises mid-stream.
        async with stream, contextlib.aclosing(_decoded(stream)) as chunks:
            async for chunk in chunks:
                try:
                    pieces = _absorbed(chunk, completion, calls)
                except _MALFORMED as exc:
                    raise _malformed(exc) from exc
                for piece in pieces:
                    parts.append(piece)
                    if on_text:
                        await on_text(piece)
        completion.text = "".join(parts)
        completion.tool_calls = [calls[i] for i in sorted(calls)]
        return completion

    def _mapped(self, exc: openai.OpenAIError, elapsed: float | None = None) -> Exception:
        """The one table from provider exceptions to what the user reads."""
        host = urlparse(self.settings.openai_base_url or "https://api.openai.com/v1").netloc
        log.warning("model call failed: %s: %s", type(exc).__name__, exc)
        # The aiohttp transport reports a refused connection as a connect *timeout*; a timeout
        # that came well before the time limit is really "could not connect".
        early = elapsed is not None and elapsed < self.settings.model_timeout * 0.9
        if isinstance(exc, openai.APITimeoutError) and not early:
            return ModelError(f"The model endpoint did not answer in {self.settings.model_timeout:g} s.")
        if isinstance(exc, openai.APIConnectionError):
            return ModelError(f"Could not reach the model endpoint at `{host}`.")
        if isinstance(exc, openai.AuthenticationError):
            return ModelError(
                "The model endpoint rejected the API key (HTTP 401). Check `OPENAI_API_KEY`, "
                "then run `chatops doctor`.",
                retryable=False,
            )
        if isinstance(exc, openai.PermissionDeniedError):
            return ModelError("The model endpoint refused access (HTTP 403). Check the key's permissions.",
                              retryable=False)
        if isinstance(exc, openai.NotFoundError):
            return ModelError(
                f"The model `{self.name}` was not found at `{host}`. Check `CHATOPS_MODEL` "
                "(`chatops doctor` lists models).",
                retryable=False,
            )
        if isinstance(exc, openai.RateLimitError):
            return ModelError("The model endpoint is rate limiting us (HTTP 429). Try again in a minute.")
        if isinstance(exc, openai.BadRequestError):
            if exc.code == "context_length_exceeded" or "context length" in str(exc).lower():
                return ContextTooLongError(str(exc))
            return ModelError("The model endpoint rejected the request (HTTP 400).")
        if isinstance(exc, openai.APIStatusError):
            return ModelError(f"The model endpoint failed (HTTP {exc.status_code}).")
        return ModelError("The model endpoint returned something unexpected.")


# What reading a response that is not a chat completion raises; caught around that reading only,
# never around our own code (the `on_text` callback), whose exceptions are bugs to propagate.
_MALFORMED = (KeyError, IndexError, TypeError, AttributeError)


def _count_usage(completion: Completion, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> None:
    if not completion.prompt_tokens:
        completion.prompt_tokens = count_messages(messages) + count_tools(tools or [])
    if not completion.completion_tokens:
        completion.completion_tokens = count_text(completion.text) + count_text(json.dumps(completion.tool_calls))


def _malformed(exc: Exception) -> ModelError:
    log.warning("model endpoint sent a malformed completion", exc_info=exc)
    return ModelError("The model endpoint returned something that is not a chat completion.")


def _parsed(response: Any) -> Completion:
    """A plain (not streamed) chat completion, read from the endpoint's JSON."""
    choice = response["choices"][0]
    message = choice.get("message") or {}
    calls = [
        {"id": c["id"], "type": "function",
         "function": {"name": c["function"]["name"], "arguments": c["function"].get("arguments") or ""}}
        for c in message.get("tool_calls") or ()
    ]
    usage = response.get("usage") or {}
    return Completion(text=message.get("content") or "", tool_calls=calls, finish_reason=choice.get("finish_reason"),
                      prompt_tokens=usage.get("prompt_tokens", 0),
                      completion_tokens=usage.get("completion_tokens", 0))


async def _decoded(stream: openai.AsyncStream[object]) -> AsyncGenerator[Any, None]:
    """The stream's chunks; an event that is not JSON is a malformed completion."""
    try:
        async for chunk in stream:
            yield chunk
    except json.JSONDecodeError as exc:
        raise _malformed(exc) from exc


def _absorbed(chunk: Any, completion: Completion, calls: dict[int, dict[str, Any]]) -> list[str]:
    """Fold one streamed chunk into `completion` and `calls`; returns its text pieces."""
    pieces: list[str] = []
    usage = chunk.get("usage")
    if usage:
        completion.prompt_tokens = usage.get("prompt_tokens", 0)
        completion.completion_tokens = usage.get("completion_tokens", 0)
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content"):
            pieces.append(delta["content"])
        for fragment in delta.get("tool_calls") or ():
            call = calls.setdefault(
                fragment.get("index", 0), {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
            )
            function = fragment.get("function") or {}
            call["id"] = fragment.get("id") or call["id"]
            call["function"]["name"] += function.get("name") or ""
            call["function"]["arguments"] += function.get("arguments") or ""
        if choice.get("finish_reason"):
            completion.finish_reason = choice["finish_reason"]
    return pieces
