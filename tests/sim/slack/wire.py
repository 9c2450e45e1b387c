"""Stand-ins for the app's side of the wire: an HTTP events endpoint and a Socket Mode app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse


@dataclass
class Received:
    headers: dict[str, str]
    raw: bytes
    signature_ok: bool

    @property
    def body(self) -> dict:
        """The payload as the app would parse it: JSON, `payload=<json>`, or plain form fields."""
        text = self.raw.decode()
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return json.loads(text)
        form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
        return json.loads(form["payload"]) if "payload" in form else form


Responder = Callable[[Received], Awaitable[web.StreamResponse]]


async def answer_ok(_: Received) -> web.StreamResponse:
    return web.Response(status=200)


@dataclass
class Receiver:
    """A stand-in for the app's /slack/events endpoint; `respond` decides each answer."""

    verifier: SignatureVerifier
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    respond: Responder = answer_ok
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def hang(self, _: Received) -> web.StreamResponse:
        """Answer only when the test ends; Slack gives up after its ack timeout long before."""
        await self.released.wait()
        return web.Response(status=200)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        headers = dict(request.headers)
        received = Received(headers, raw, self.verifier.is_valid_request(raw, headers))
        self.requests.append(received)
        if not received.signature_ok:
            return web.Response(status=401)
        return await self.respond(received)


@dataclass
class SocketApp:
    """A Socket Mode app built on slack_sdk's client: records envelopes and acks them (if `ack`)."""

    client: SocketModeClient
    received: list[SocketModeRequest] = field(default_factory=list)
    ack: bool = True
    ack_payload: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.client.socket_mode_request_listeners.append(self.on_request)

    async def on_request(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        self.received.append(request)
        if self.ack:
            response = SocketModeResponse(envelope_id=request.envelope_id, payload=self.ack_payload)
            await client.send_socket_mode_response(response)


async def serve_receiver(receiver: Receiver) -> web.AppRunner:
    """Serve `receiver` at http://127.0.0.1:<free port>/slack/events; call runner.cleanup() when done."""
    runner = web.AppRunner(web.Application(), access_log=None)
    runner.app.router.add_post("/slack/events", receiver.handle)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    return runner
