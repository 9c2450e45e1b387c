"""Sending payloads to the app: signed HTTP requests or Socket Mode envelopes.

Over HTTP, Slack signs `v0:<timestamp>:<body>` with the signing secret, gives up on a
request after 3 seconds and retries events with `X-Slack-Retry-Num`/`X-Slack-Retry-Reason`.
Over Socket Mode, it wraps the same payload in an envelope and waits 3 seconds for the ack.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp

from sim.slack.socket_mode import NoSocketClientError, SocketHub

INTERACTIVE_TYPES = frozenset(
    {
        "block_actions",
        "block_suggestion",
        "interactive_message",
        "message_action",
        "shortcut",
        "view_submission",
        "view_closed",
        "dialog_submission",
    }
)


class DeliveryError(RuntimeError):
    """The emulator had nowhere to deliver to: no HTTP URL set and no Socket Mode client connected."""


@dataclass
class Delivered:
    """What happened when the emulator sent something to the app."""

    ts: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    event_ids: list[str] = field(default_factory=list)
    statuses: list[int | str] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)

    @property
    def response(self) -> Any:
        """The app's last immediate answer: the HTTP response JSON or the Socket Mode ack payload.

        A plain-text HTTP body means message text to Slack, so it reads as {"text": body},
        just as slack_bolt's Socket Mode adapter sends it.
        """
        for body in reversed(self.responses):
            if isinstance(body, dict):
                return body
            if isinstance(body, str) and body.strip():
                try:
                    return json.loads(body)
                except ValueError:
                    return {"text": body}
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "channel": self.channel,
            "thread_ts": self.thread_ts,
            "event_ids": self.event_ids,
            "statuses": self.statuses,
            "responses": self.responses,
        }


def sign(signing_secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def kind_of(body: dict[str, Any]) -> str:
    """The Socket Mode envelope type for a payload: events_api, interactive or slash_commands."""
    if body.get("type") in ("event_callback", "url_verification", "app_rate_limited"):
        return "events_api"
    if body.get("type") in INTERACTIVE_TYPES:
        return "interactive"
    if "command" in body:
        return "slash_commands"
    raise ValueError(f"cannot tell what kind of Slack payload this is: {sorted(body)}")


def encode_for_http(body: dict[str, Any], kind: str) -> tuple[bytes, str]:
    if kind == "events_api":
        return json.dumps(body).encode(), "application/json"
    if kind == "interactive":
        return urlencode({"payload": json.dumps(body)}).encode(), "application/x-www-form-urlencoded"
    return urlencode(body).encode(), "application/x-www-form-urlencoded"


class Deliverer:
    """Delivers payloads over HTTP when a URL is set, else to the newest Socket Mode client."""

    def __init__(self, signing_secret: str, sockets: SocketHub, on_change: Callable[[], None]) -> None:
        self.signing_secret = signing_secret
        self.sockets = sockets
        self.on_change = on_change
        self.http_url: str | None = None
        self.ack_timeout = 3.0
        self.connect_wait = 10.0
        self.session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def post_signed(
        self,
        body: bytes | str | dict[str, Any],
        retry_num: int | None = None,
        timestamp: str | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
        retry_reason: str = "http_timeout",
    ) -> tuple[int, str, dict[str, str]]:
        """POST to the app's URL as Slack would; None for timestamp/signature means compute the right one."""
        if self.http_url is None:
            raise DeliveryError("no HTTP URL to deliver to; call deliver_http_to(url) first")
        if isinstance(body, dict):
            raw, content_type = encode_for_http(body, kind_of(body))
        else:
            raw = body.encode() if isinstance(body, str) else body
            content_type = (
                "application/json" if raw.lstrip().startswith(b"{") else "application/x-www-form-urlencoded"
            )
        timestamp = timestamp if timestamp is not None else str(int(time.time()))
        signature = signature if signature is not None else sign(self.signing_secret, timestamp, raw)
        sent = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }
        if retry_num:
            sent["X-Slack-Retry-Num"] = str(retry_num)
            sent["X-Slack-Retry-Reason"] = retry_reason
        sent.update(headers or {})
        if self.session is None:
            self.session = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(total=self.ack_timeout)
        async with self.session.post(self.http_url, data=raw, headers=sent, timeout=timeout) as response:
            return response.status, await response.text(), dict(response.headers)

    async def send_once(self, body: dict[str, Any], attempt: int = 0) -> tuple[int | str, Any]:
        """One delivery attempt (attempt 0 is the first; later ones carry Slack's retry markers).

        Status is the HTTP code, "acked", "timeout", "disconnected" or "connection_failed".
        """
        try:
            if self.http_url is not None:
                return await self._send_http(body, attempt)
            return await self._send_socket(body, kind_of(body), attempt)
        finally:
            self.on_change()

    async def _send_http(self, body: dict[str, Any], attempt: int) -> tuple[int | str, Any]:
        try:
            status, text, _ = await self.post_signed(body, retry_num=attempt or None)
        except TimeoutError:
            return "timeout", None
        except aiohttp.ClientConnectionError:
            return "connection_failed", None
        return status, text

    async def _send_socket(self, body: dict[str, Any], kind: str, attempt: int) -> tuple[int | str, Any]:
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "payload": body,
            "type": kind,
            "accepts_response_payload": kind == "slash_commands"
            or body.get("type") in ("view_submission", "block_suggestion"),
        }
        if kind == "events_api":
            envelope.update(retry_attempt=attempt, retry_reason="timeout" if attempt else "")
        try:
            return await self.sockets.send(envelope, self.ack_timeout, self.connect_wait)
        except NoSocketClientError as e:
            raise DeliveryError(
                "nowhere to deliver: no HTTP URL set (deliver_http_to) and no Socket Mode client connected"
            ) from e

    async def deliver(self, body: dict[str, Any], retries: int = 0, concurrently: bool = False) -> Delivered:
        """Deliver a payload, then `retries` redeliveries of the very same payload."""
        delivered = Delivered()
        if body.get("event_id"):
            delivered.event_ids.append(body["event_id"])
        if concurrently:
            results = await asyncio.gather(*(self.send_once(body, n) for n in range(retries + 1)))
        else:
            results = [await self.send_once(body, n) for n in range(retries + 1)]
        for status, response in results:
            delivered.statuses.append(status)
            delivered.responses.append(response)
        return delivered

    async def deliver_event(self, body: dict[str, Any], delivered: Delivered, redeliveries: int = 1) -> None:
        """Deliver an event like Slack: redeliver (same event_id) when the app does not answer in time."""
        delivered.event_ids.append(body["event_id"])
        for attempt in range(redeliveries + 1):
            status, response = await self.send_once(body, attempt)
            delivered.statuses.append(status)
            delivered.responses.append(response)
            if status not in ("timeout", "disconnected"):
                return
