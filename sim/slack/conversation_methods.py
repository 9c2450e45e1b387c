"""Reading conversations and people, and reacting: conversations.*, users.*, reactions.*."""

from __future__ import annotations

import base64
from decimal import Decimal, InvalidOperation
from typing import Any

from sim.slack.state import Channel, public_message
from sim.slack.webapi import ApiCall, ApiError, Handler


def readable_channel(call: ApiCall) -> Channel:
    """Public channels are readable with the history scopes; private ones and DMs only by members."""
    channel = call.channel()
    if (channel.is_private or channel.is_im) and call.workspace.identity.bot_user_id not in channel.members:
        raise ApiError("channel_not_found")
    return channel


def _ts_value(value: Any, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as e:
        raise ApiError("invalid_ts_" + name) from e


def in_range(call: ApiCall, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep messages between `oldest` and `latest`, bounds excluded unless `inclusive`."""
    oldest = _ts_value(call.get("oldest", "0"), "oldest")
    latest = call.get("latest")
    newest = _ts_value(latest, "latest") if latest is not None else None
    inclusive = call.flag("inclusive")

    def keep(message: dict[str, Any]) -> bool:
        ts = Decimal(message["ts"])
        above = ts >= oldest if inclusive else ts > oldest
        below = newest is None or (ts <= newest if inclusive else ts < newest)
        return above and below

    return [m for m in messages if keep(m)]


def encode_cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def paginate(call: ApiCall, messages: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str]:
    """One page of `messages` (already in answer order) from the cursor; returns it and the next cursor."""
    start = 0
    cursor = call.get("cursor")
    if cursor:
        try:
            kind, _, ts = base64.b64decode(str(cursor)).decode().partition(":")
        except ValueError as e:
            raise ApiError("invalid_cursor") from e
        if kind != "next_ts":
            raise ApiError("invalid_cursor")
        start = next((i for i, m in enumerate(messages) if m["ts"] == ts), len(messages))
    page = messages[start : start + limit]
    more = start + limit < len(messages)
    return page, encode_cursor(messages[start + limit]["ts"]) if more else ""


def replies(call: ApiCall) -> dict[str, Any]:
    channel = readable_channel(call)
    (ts,) = call.require("ts")
    thread = call.workspace.thread(channel.id, str(ts))
    if not thread:
        raise ApiError("thread_not_found")
    limit = min(max(call.number("limit", 1000), 1), 1000)
    root, rest = thread[0], in_range(call, thread[1:])
    root_shown = bool(in_range(call, [root]))
    # Slack repeats the thread's root at the top of every page.
    page, next_cursor = paginate(call, rest, max(limit - 1, 1) if root_shown else limit)
    metadata = call.flag("include_all_metadata")
    messages = [public_message(m, metadata) for m in ([root] if root_shown else []) + page]
    return {
        "messages": messages,
        "has_more": bool(next_cursor),
        "response_metadata": {"next_cursor": next_cursor},
    }


def history(call: ApiCall) -> dict[str, Any]:
    channel = readable_channel(call)
    limit = min(max(call.number("limit", 100), 1), 999)
    newest_first = list(reversed(in_range(call, call.workspace.top_level(channel.id))))
    page, next_cursor = paginate(call, newest_first, limit)
    metadata = call.flag("include_all_metadata")
    return {
        "messages": [public_message(m, metadata) for m in page],
        "has_more": bool(next_cursor),
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
        "response_metadata": {"next_cursor": next_cursor},
    }


def info(call: ApiCall) -> dict[str, Any]:
    channel = readable_channel(call)
    return {"channel": channel.to_api(call.workspace.identity.bot_user_id)}


def members(call: ApiCall) -> dict[str, Any]:
    channel = readable_channel(call)
    return {"members": sorted(channel.members), "response_metadata": {"next_cursor": ""}}


def open_conversation(call: ApiCall) -> dict[str, Any]:
    if call.get("channel"):
        return {"channel": {"id": readable_channel(call).id}, "no_op": True, "already_open": True}
    (users,) = call.require("users")
    wanted = [u.strip() for u in str(users).split(",") if u.strip()]
    if len(wanted) != 1:
        raise ApiError("not_supported_by_emulator", detail="only single-user DMs are emulated")
    user = call.workspace.find_user(wanted[0])
    if user is None:
        raise ApiError("user_not_found")
    dm = call.workspace.dm_channel(user.id)
    return {"channel": {"id": dm.id}, "no_op": False, "already_open": False}


def user_info(call: ApiCall) -> dict[str, Any]:
    (ref,) = call.require("user")
    user = call.workspace.find_user(str(ref))
    if user is None:
        raise ApiError("user_not_found")
    return {"user": user.to_api(call.workspace.identity.team_id)}


def user_list(call: ApiCall) -> dict[str, Any]:
    team = call.workspace.identity.team_id
    people = [u.to_api(team) for u in call.workspace.users.values()]
    return {"members": people, "cache_ts": 0, "response_metadata": {"next_cursor": ""}}


def _reacted_message(call: ApiCall) -> tuple[Channel, dict[str, Any], str]:
    channel = readable_channel(call)
    ts, name = call.require("timestamp", "name")
    message = call.workspace.message(channel.id, str(ts))
    if message is None:
        raise ApiError("message_not_found")
    name = str(name).strip(":")
    if not name:
        raise ApiError("invalid_name")
    return channel, message, name


def add_reaction(call: ApiCall) -> dict[str, Any]:
    _, message, name = _reacted_message(call)
    me = call.workspace.identity.bot_user_id
    reactions = message.setdefault("reactions", [])
    reaction = next((r for r in reactions if r["name"] == name), None)
    if reaction is None:
        reactions.append({"name": name, "users": [me], "count": 1})
    elif me in reaction["users"]:
        raise ApiError("already_reacted")
    else:
        reaction["users"].append(me)
        reaction["count"] += 1
    return {}


def remove_reaction(call: ApiCall) -> dict[str, Any]:
    _, message, name = _reacted_message(call)
    me = call.workspace.identity.bot_user_id
    reactions = message.get("reactions", [])
    reaction = next((r for r in reactions if r["name"] == name and me in r["users"]), None)
    if reaction is None:
        raise ApiError("no_reaction")
    reaction["users"].remove(me)
    reaction["count"] -= 1
    if not reaction["users"]:
        reactions.remove(reaction)
    if not reactions:
        message.pop("reactions", None)
    return {}


def get_reactions(call: ApiCall) -> dict[str, Any]:
    channel = readable_channel(call)
    (ts,) = call.require("timestamp")
    message = call.workspace.message(channel.id, str(ts))
    if message is None:
        raise ApiError("message_not_found")
    return {"type": "message", "channel": channel.id, "message": public_message(message, False)}


CONVERSATION_METHODS: dict[str, Handler] = {
    "conversations.replies": replies,
    "conversations.history": history,
    "conversations.info": info,
    "conversations.members": members,
    "conversations.open": open_conversation,
    "users.info": user_info,
    "users.list": user_list,
    "reactions.add": add_reaction,
    "reactions.remove": remove_reaction,
    "reactions.get": get_reactions,
}
