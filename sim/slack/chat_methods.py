"""chat.* methods: posting, editing, deleting, ephemerals, permalinks and streamed replies."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from sim.slack.events import rich_text_blocks
from sim.slack.state import Channel, Identity, public_message
from sim.slack.validation import MAX_MARKDOWN, MAX_TEXT, check_blocks
from sim.slack.webapi import ApiCall, ApiError, Handler, missing


def with_block_ids(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Slack gives every block without a block_id a random one."""
    named = copy.deepcopy(blocks)
    for block in named:
        block.setdefault("block_id", secrets.token_urlsafe(4))
    return named


def check_or_fail(blocks: Any) -> None:
    errors = check_blocks(blocks)
    if errors:
        raise ApiError(
            "invalid_blocks", errors=errors, response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
        )


def _metadata(call: ApiCall) -> dict[str, Any] | None:
    metadata = call.get("metadata")
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or "event_type" not in metadata:
        raise ApiError("invalid_metadata_format")
    return metadata


def _generated(message: dict[str, Any]) -> bool:
    """Whether a message's blocks are Slack's own rendering of its text or markdown_text (or absent)."""
    blocks = message.get("blocks")
    if not blocks or message.get("markdown_text") is not None:
        return True
    return len(blocks) == 1 and blocks[0].get("type") == "rich_text"


def content_fields(call: ApiCall, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """text/blocks/markdown_text/attachments/metadata, checked against Slack's limits.

    Like Slack, plain text gets a rich_text rendering in `blocks`; an update that leaves out
    `blocks` keeps the message's own blocks.
    """
    text, blocks, markdown = call.get("text"), call.get("blocks"), call.get("markdown_text")
    attachments = call.get("attachments")
    if markdown is not None and (text is not None or blocks is not None):
        raise ApiError("markdown_text_conflict")
    if text is None and blocks is None and markdown is None and attachments is None:
        raise ApiError("no_text")
    if isinstance(blocks, str):
        raise ApiError("invalid_blocks_format")
    if len(text or "") > MAX_TEXT or len(markdown or "") > MAX_MARKDOWN:
        raise ApiError("msg_too_long")
    fields: dict[str, Any] = {}
    if markdown is not None:
        fields.update(text=markdown, markdown_text=markdown, blocks=[{"type": "markdown", "text": markdown}])
    elif blocks is not None:
        check_or_fail(blocks)
        fields.update(text=text or "", blocks=blocks)
    elif text is not None:
        fields["text"] = text
        if previous is None or _generated(previous):
            fields["blocks"] = rich_text_blocks(text) if text else []
    elif previous is None:
        fields["text"] = ""
    if fields.get("blocks"):
        fields["blocks"] = with_block_ids(fields["blocks"])
    if attachments is not None:
        if not isinstance(attachments, list):
            raise ApiError("invalid_attachments")
        fields["attachments"] = attachments
    metadata = _metadata(call)
    if metadata is not None:
        fields["metadata"] = metadata
    return fields


def bot_fields(
    identity: Identity, username: str | None = None, icon_emoji: str | None = None
) -> dict[str, Any]:
    """Who a message from our bot is by: its bot user, bot id, app and bot profile."""
    fields: dict[str, Any] = {
        "user": identity.bot_user_id,
        "bot_id": identity.bot_id,
        "app_id": identity.app_id,
        "bot_profile": {
            "id": identity.bot_id,
            "app_id": identity.app_id,
            "name": identity.bot_name,
            "icons": {"image_48": f"https://avatars.sim.invalid/{identity.bot_id}_48.png"},
            "deleted": False,
            "updated": 1700000000,
            "team_id": identity.team_id,
        },
    }
    if username:
        fields["username"] = username
    if icon_emoji:
        fields["icons"] = {"emoji": icon_emoji}
    return fields


def posted_by_bot(call: ApiCall) -> dict[str, Any]:
    return bot_fields(call.workspace.identity, call.get("username"), call.get("icon_emoji"))


def thread_root(call: ApiCall, channel: Channel, thread_ts: Any) -> str | None:
    if thread_ts is None:
        return None
    root = call.workspace.message(channel.id, str(thread_ts))
    if root is None:
        raise ApiError("thread_not_found")
    return root["ts"]


def bot_message(call: ApiCall, channel_name: str = "channel") -> tuple[Channel, dict[str, Any]]:
    channel = call.member_channel(channel_name)
    message = call.workspace.message(channel.id, str(call.require("ts")[0]))
    if message is None:
        raise ApiError("message_not_found")
    if message.get("bot_id") != call.workspace.identity.bot_id:
        raise ApiError("cant_update_message" if call.method == "chat.update" else "cant_delete_message")
    return channel, message


def post_message(call: ApiCall) -> dict[str, Any]:
    channel = call.member_channel(names_ok=True)
    fields = {**posted_by_bot(call), **content_fields(call)}
    root = thread_root(call, channel, call.get("thread_ts"))
    if root is not None:
        fields["thread_ts"] = root
        if call.flag("reply_broadcast"):
            fields["subtype"] = "thread_broadcast"
    message = call.workspace.post(channel, fields)
    return {"channel": channel.id, "ts": message["ts"], "message": public_message(message)}


def update(call: ApiCall) -> dict[str, Any]:
    channel, message = bot_message(call)
    fields = content_fields(call, previous=message)
    if "markdown_text" not in fields:
        message.pop("markdown_text", None)
    message.update(fields)
    message["edited"] = {"user": call.workspace.identity.bot_user_id, "ts": call.workspace.clock.next()}
    shown = public_message(message)
    return {"channel": channel.id, "ts": message["ts"], "text": message.get("text", ""), "message": shown}


def delete(call: ApiCall) -> dict[str, Any]:
    channel, message = bot_message(call)
    call.workspace.remove(channel.id, message["ts"])
    return {"channel": channel.id, "ts": message["ts"]}


def post_ephemeral(call: ApiCall) -> dict[str, Any]:
    channel = call.member_channel(names_ok=True)
    (user_ref,) = call.require("user")
    user = call.workspace.find_user(str(user_ref))
    if user is None:
        raise ApiError("user_not_found")
    if user.id not in channel.members:
        raise ApiError("user_not_in_channel")
    fields = content_fields(call)
    root = thread_root(call, channel, call.get("thread_ts"))
    ts = call.workspace.clock.next()
    call.workspace.ephemerals.append(
        {
            "channel": channel.id,
            "user": user.id,
            "text": fields.get("text", ""),
            "blocks": call.get("blocks"),
            "thread_ts": root,
            "ts": ts,
        }
    )
    return {"message_ts": ts}


def get_permalink(call: ApiCall) -> dict[str, Any]:
    channel = call.channel()
    (ts,) = call.require("message_ts")
    message = call.workspace.message(channel.id, str(ts))
    if message is None:
        raise ApiError("message_not_found")
    link = f"{call.base_url}/archives/{channel.id}/p{message['ts'].replace('.', '')}"
    root = message.get("thread_ts")
    if root and root != message["ts"]:
        link += f"?thread_ts={root}&cid={channel.id}"
    return {"channel": channel.id, "permalink": link}


# ----- streaming (chat.startStream / appendStream / stopStream)


def _streamed_text(call: ApiCall) -> tuple[str, list[dict[str, Any]]]:
    """Markdown carried by `markdown_text` and markdown_text chunks, and any other chunks."""
    text = call.get("markdown_text") or ""
    others: list[dict[str, Any]] = []
    chunks = call.get("chunks") or []
    if not isinstance(chunks, list):
        raise ApiError("invalid_chunks")
    for chunk in chunks:
        if not isinstance(chunk, dict):
            raise ApiError("invalid_chunks")
        if chunk.get("type") == "markdown_text":
            text += str(chunk.get("text") or "")
        else:
            others.append(chunk)
    if len(text) > MAX_MARKDOWN:
        raise ApiError("msg_too_long")
    return text, others


def start_stream(call: ApiCall) -> dict[str, Any]:
    """A reply in `thread_ts` whose markdown grows with appendStream until stopStream.

    The message's first block is a markdown block with the text so far; stopStream's blocks go under it.
    """
    if call.get("thread_ts") is None:
        raise missing("thread_ts")
    channel = call.member_channel()
    if not channel.is_im and (call.get("recipient_user_id") is None or call.get("recipient_team_id") is None):
        raise missing(*(n for n in ("recipient_user_id", "recipient_team_id") if call.get(n) is None))
    root = thread_root(call, channel, call.get("thread_ts"))
    text, others = _streamed_text(call)
    fields = {
        **posted_by_bot(call),
        "text": text,
        "thread_ts": root,
        "markdown_text": text,
        "blocks": with_block_ids([{"type": "markdown", "text": text}]),
        "stream_state": "streaming",
        "stream_chunks": others,
    }
    message = call.workspace.post(channel, fields)
    return {"channel": channel.id, "ts": message["ts"]}


def _streaming_message(call: ApiCall) -> tuple[Channel, dict[str, Any]]:
    channel = call.member_channel()
    (ts,) = call.require("ts")
    message = call.workspace.message(channel.id, str(ts))
    if message is None:
        raise ApiError("message_not_found")
    if message.get("stream_state") != "streaming":
        raise ApiError("message_not_in_streaming_state")
    return channel, message


def _append(message: dict[str, Any], text: str, others: list[dict[str, Any]]) -> None:
    if len(message["markdown_text"]) + len(text) > MAX_MARKDOWN:
        raise ApiError("msg_too_long")
    message["markdown_text"] += text
    message["text"] = message["blocks"][0]["text"] = message["markdown_text"]
    message["stream_chunks"].extend(others)


def append_stream(call: ApiCall) -> dict[str, Any]:
    channel, message = _streaming_message(call)
    _append(message, *_streamed_text(call))
    return {"channel": channel.id, "ts": message["ts"]}


def stop_stream(call: ApiCall) -> dict[str, Any]:
    channel, message = _streaming_message(call)
    text, others = _streamed_text(call)
    blocks = call.get("blocks")
    if blocks is not None:
        check_or_fail(blocks)
    metadata = _metadata(call)
    _append(message, text, others)
    if blocks is not None:  # rendered under the streamed markdown
        message["blocks"] = message["blocks"][:1] + with_block_ids(blocks)
    if metadata is not None:
        message["metadata"] = metadata
    message["stream_state"] = "stopped"
    return {"channel": channel.id, "ts": message["ts"], "message": public_message(message)}


CHAT_METHODS: dict[str, Handler] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.delete": delete,
    "chat.postEphemeral": post_ephemeral,
    "chat.getPermalink": get_permalink,
    "chat.startStream": start_stream,
    "chat.appendStream": append_stream,
    "chat.stopStream": stop_stream,
}
