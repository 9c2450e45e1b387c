"""Methods about the app itself: auth.test, apps.connections.open, assistant.threads.*, views.publish."""

from __future__ import annotations

import time
from typing import Any

from sim.slack.webapi import ApiCall, ApiError, Handler, missing


def api_test(call: ApiCall) -> dict[str, Any]:
    if call.get("error"):
        raise ApiError(str(call.get("error")), args=call.args)
    return {"args": call.args}


def auth_test(call: ApiCall) -> dict[str, Any]:
    me = call.workspace.identity
    return {
        "url": f"{call.base_url}/",
        "team": me.team_domain,
        "user": me.bot_name,
        "team_id": me.team_id,
        "user_id": me.bot_user_id,
        "bot_id": me.bot_id,
        "is_enterprise_install": False,
    }


def connections_open(call: ApiCall) -> dict[str, Any]:
    ws_base = "ws" + call.base_url.removeprefix("http")
    return {"url": call.sockets.issue_url(ws_base)}


def _assistant_thread(call: ApiCall) -> dict[str, Any]:
    channel = call.member_channel("channel_id")
    thread_ts = call.get("thread_ts")
    if thread_ts is not None and call.workspace.message(channel.id, str(thread_ts)) is None:
        raise ApiError("thread_not_found")
    return {"channel_id": channel.id, "thread_ts": thread_ts, "at": time.monotonic()}


def set_status(call: ApiCall) -> dict[str, Any]:
    call.require("channel_id", "thread_ts")
    if "status" not in call.args:
        raise missing("status")
    record = _assistant_thread(call)
    record["status"] = call.args["status"]
    for extra in ("loading_messages", "icon_emoji", "username"):
        if call.get(extra) is not None:
            record[extra] = call.get(extra)
    call.workspace.statuses.append(record)
    return {}


def set_suggested_prompts(call: ApiCall) -> dict[str, Any]:
    (prompts,) = call.require("prompts")
    if not isinstance(prompts, list) or not all(isinstance(p, dict) and p.get("message") for p in prompts):
        raise ApiError("invalid_arguments")
    record = _assistant_thread(call)
    record.update(prompts=prompts, title=call.get("title"))
    call.workspace.suggested_prompts.append(record)
    return {}


def set_title(call: ApiCall) -> dict[str, Any]:
    call.require("channel_id", "thread_ts", "title")
    record = _assistant_thread(call)
    record["title"] = call.args["title"]
    call.workspace.titles.append(record)
    return {}


def publish_view(call: ApiCall) -> dict[str, Any]:
    user_id, view = call.require("user_id", "view")
    user = call.workspace.find_user(str(user_id))
    if user is None:
        raise ApiError("user_not_found")
    if not isinstance(view, dict) or view.get("type") != "home":
        raise ApiError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] view.type must be home"]}
        )
    me = call.workspace.identity
    published = {
        **view,
        "id": call.workspace.views.get(user.id, {}).get("id") or call.workspace.ids.next("V"),
        "team_id": me.team_id,
        "app_id": me.app_id,
        "bot_id": me.bot_id,
        "hash": f"{int(time.time())}.sim",
    }
    call.workspace.views[user.id] = published
    return {"view": published}


APP_METHODS: dict[str, Handler] = {
    "api.test": api_test,
    "auth.test": auth_test,
    "apps.connections.open": connections_open,
    "assistant.threads.setStatus": set_status,
    "assistant.threads.setSuggestedPrompts": set_suggested_prompts,
    "assistant.threads.setTitle": set_title,
    "views.publish": publish_view,
}
