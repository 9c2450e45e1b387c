"""HTTP routes beyond the Web API: the response_url endpoint and the /_sim/ control API.

response_url (POST /_response/<key>) behaves like Slack's: `replace_original` edits the
message the button was on, `delete_original` removes it, `response_type: in_channel` posts
a new message, anything else is an ephemeral reply. Every body is kept in `sim.responses`.

The control API lets another process drive the emulator (`python -m sim.slack`):
POST /_sim/say, /_sim/post (store only), /_sim/click, /_sim/slash; GET /_sim/calls?since=N, /_sim/messages?channel=C.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sim.slack.chat_methods import bot_fields, with_block_ids
from sim.slack.delivery import DeliveryError
from sim.slack.validation import check_blocks
from sim.slack.webapi import Call

if TYPE_CHECKING:
    from sim.slack.emulator import SlackEmulator


def _apply_response(sim: SlackEmulator, target: dict[str, Any], body: dict[str, Any]) -> str | None:
    """Change the workspace as Slack does for a response_url body; returns an error or None."""
    blocks = body.get("blocks")
    if blocks is not None and check_blocks(blocks):
        return "invalid_blocks"
    workspace = sim.workspace
    channel = workspace.channel(target["channel"])
    original = workspace.message(channel.id, target["message_ts"]) if target.get("message_ts") else None
    if body.get("delete_original") and original is not None:
        workspace.remove(channel.id, original["ts"])
    elif body.get("replace_original") and original is not None:
        for key in ("text", "attachments"):
            if key in body:
                original[key] = body[key]
        if blocks is not None:
            original["blocks"] = with_block_ids(blocks)
        original["edited"] = {"user": sim.identity.bot_user_id, "ts": workspace.clock.next()}
    elif body.get("response_type") == "in_channel":
        fields: dict[str, Any] = {**bot_fields(sim.identity), "text": body.get("text", "")}
        if blocks is not None:
            fields["blocks"] = with_block_ids(blocks)
        if body.get("thread_ts") and workspace.message(channel.id, body["thread_ts"]):
            fields["thread_ts"] = body["thread_ts"]
        workspace.post(channel, fields)
    return None


def control_routes(sim: SlackEmulator) -> list[web.RouteDef]:
    async def response_url(request: web.Request) -> web.Response:
        target = sim.response_urls.get(request.match_info["key"])
        if target is None:
            return web.Response(status=404, text="no_service")
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(body, dict):
            return web.Response(status=400, text="invalid_payload")
        error = _apply_response(sim, target, body)
        sim.responses.append({"body": body, **target})
        sim._record(
            Call("response_url", body, time.monotonic(), error is None, error, 400 if error else 200)
        )
        return web.Response(status=400 if error else 200, text=error or "ok")

    async def run(action: Any, request: web.Request) -> web.Response:
        try:
            spec = await request.json()
            delivered = await action(**spec)
        except (LookupError, ValueError, TypeError, DeliveryError) as e:
            return web.json_response({"error": str(e)}, status=400)
        return web.json_response(delivered.to_json())

    async def say(request: web.Request) -> web.Response:
        return await run(sim.user_says, request)

    async def post(request: web.Request) -> web.Response:
        try:
            return web.json_response(sim.user_posts(**await request.json()))
        except (LookupError, ValueError, TypeError) as e:
            return web.json_response({"error": str(e)}, status=400)

    async def click(request: web.Request) -> web.Response:
        return await run(sim.click, request)

    async def slash(request: web.Request) -> web.Response:
        return await run(sim.slash, request)

    async def calls(request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        return web.json_response(
            [c.to_json() for c in sim.calls[since:]], dumps=lambda v: json.dumps(v, default=str)
        )

    async def messages(request: web.Request) -> web.Response:
        try:
            found = sim.messages(request.query.get("channel", "general"))
        except LookupError as e:
            return web.json_response({"error": str(e)}, status=404)
        return web.json_response(found)

    return [
        web.post("/_response/{key}", response_url),
        web.post("/_sim/say", say),
        web.post("/_sim/post", post),
        web.post("/_sim/click", click),
        web.post("/_sim/slash", slash),
        web.get("/_sim/calls", calls),
        web.get("/_sim/messages", messages),
    ]
