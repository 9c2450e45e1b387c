"""The Slack Web API client, with slack_sdk's retry handlers set up the way we need them.

- 429: wait what `Retry-After` says (plus up to 1 s of jitter), at most `max_wait` seconds;
  a longer demand is not retried here and surfaces as an error.
- Connection errors and Slack's own 5xx: retried with backoff, except for methods that create
  something (a retried chat.postMessage after Slack already accepted it would post twice). Those
  are made safe by `SlackIO.post`, which looks the message up before posting again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

SERVER_ERRORS = (500, 502, 503, 504)
NOT_IDEMPOTENT = ("chat.postMessage", "chat.postEphemeral", "chat.startStream", "files.completeUploadExternal")

Sleep = Callable[[float], Awaitable[None]]


class RateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """Honours Retry-After with jitter, capped; the sleep is injectable so tests need not wait."""

    def __init__(self, max_retry_count: int = 3, max_wait: float = 30.0, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        self.sleep = sleep

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        return response is not None and response.status_code == 429 and _retry_after(response) <= self.max_wait

    async def prepare_for_next_attempt_async(self, *, state: RetryState, request: HttpRequest,
                                             response: HttpResponse | None = None,
                                             error: Exception | None = None) -> None:
        state.next_attempt_requested = True
        await self.sleep(_retry_after(response) + random.random())
        state.increment_current_attempt()


class SafeConnectionRetryHandler(AsyncConnectionErrorRetryHandler):
    """Retries connection errors only for methods that are safe to repeat."""

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        if request.url.rstrip("/").rsplit("/", 1)[-1] in NOT_IDEMPOTENT:
            return False
        return await super()._can_retry_async(state=state, request=request, response=response, error=error)


class SafeServerErrorRetryHandler(AsyncServerErrorRetryHandler):
    """Retries Slack's 5xx answers (500, 502, 503, 504) only for methods that are safe to repeat."""

    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        if request.url.rstrip("/").rsplit("/", 1)[-1] in NOT_IDEMPOTENT:
            return False
        return response is not None and response.status_code in SERVER_ERRORS


def _retry_after(response: HttpResponse | None) -> float:
    if response is None:
        return 1.0
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return max(0.0, float(values[0]))
            except ValueError:
                return 1.0
    return 1.0


def make_web_client(token: str | None, base_url: str, *, sleep: Sleep = asyncio.sleep,
                    max_rate_limit_wait: float = 30.0) -> AsyncWebClient:
    """A client with our retry handlers and one shared, keep-alive HTTP session (call inside the event
    loop; whoever owns the client closes `client.session`). Without a shared session slack_sdk opens a
    new connection for every call."""
    handlers: list[AsyncRetryHandler] = [
        RateLimitRetryHandler(max_wait=max_rate_limit_wait, sleep=sleep),
        SafeConnectionRetryHandler(max_retry_count=2),
        SafeServerErrorRetryHandler(max_retry_count=2),
    ]
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30),
                                    connector=aiohttp.TCPConnector(limit=100))
    return AsyncWebClient(token=token, base_url=base_url, retry_handlers=handlers, timeout=30, session=session)
