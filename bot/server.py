"""HTTP mode: the Events API endpoint (`/slack/events`) in front of the Bolt app, and `/healthz`.

The signature is checked here, before Bolt parses anything: a bad, stale or malformed
signature gets 401; a signed body that is not a Slack payload is logged and answered 400.
Bolt acks first and runs listeners after, so the response never waits for an agent run.
"""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.signature import RequestVerifier

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def build_web_app(app: AsyncApp, verifier: RequestVerifier) -> web.Application:
    async def events(request: web.Request) -> web.Response:
        body = await request.read()
        if not verifier.verify(body, request.headers):
            log.info("rejected a request with a bad signature from %s", request.remote)
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            bolt_request = AsyncBoltRequest(
                body=body.decode("utf-8"), query=request.query_string,
                headers={k.lower(): v for k, v in request.headers.items()},
            )
        except Exception as exc:
            log.warning("dropped a signed request that is not a Slack payload (%s)", type(exc).__name__)
            return web.json_response({"error": "malformed payload"}, status=400)
        bolt_response = await app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app = web.Application(client_max_size=2 * 1024 * 1024)
    web_app.add_routes([web.post(EVENTS_PATH, events), web.get("/healthz", healthz)])
    return web_app
