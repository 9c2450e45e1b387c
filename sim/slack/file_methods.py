"""Files: the two-step external upload (getUploadURLExternal, POST bytes, completeUploadExternal)
and `url_private` downloads, which like Slack's answer an HTML login page without a token."""

from __future__ import annotations

import mimetypes
import time
from typing import Any

from aiohttp import web

from sim.slack.chat_methods import posted_by_bot, thread_root
from sim.slack.state import Channel, Workspace
from sim.slack.webapi import ApiCall, ApiError, Handler, token_of


def new_file(
    workspace: Workspace, name: str, user_id: str, content: bytes | None = None, title: str = ""
) -> dict:
    file_id = workspace.ids.next("F")
    record = {
        "id": file_id,
        "name": name,
        "title": title or name,
        "user": user_id,
        "created": int(time.time()),
        "length": len(content) if content is not None else None,
        "content": content,
        "channel": None,
        "thread_ts": None,
    }
    workspace.files[file_id] = record
    return record


def file_object(workspace: Workspace, record: dict[str, Any], base_url: str, channel: Channel | None) -> dict:
    """A file as Slack describes it in API answers and in a message's `files`."""
    name = record["name"]
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
    private_url = f"{base_url}/_files/{record['id']}/{name}"
    return {
        "id": record["id"],
        "created": record["created"],
        "timestamp": record["created"],
        "name": name,
        "title": record["title"],
        "mimetype": mimetype,
        "filetype": extension,
        "pretty_type": extension.upper(),
        "user": record["user"],
        "user_team": workspace.identity.team_id,
        "editable": False,
        "size": len(record["content"] or b""),
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": channel is not None and not channel.is_private and not channel.is_im,
        "public_url_shared": False,
        "display_as_bot": False,
        "username": "",
        "url_private": private_url,
        "url_private_download": private_url + "?download=1",
        "permalink": f"{base_url}/files/{record['user']}/{record['id']}/{name}",
        "has_rich_preview": False,
        "file_access": "visible",
    }


def get_upload_url(call: ApiCall) -> dict[str, Any]:
    filename, length = call.require("filename", "length")
    try:
        size = int(length)
    except (TypeError, ValueError) as e:
        raise ApiError("invalid_arguments") from e
    record = new_file(call.workspace, str(filename), call.workspace.identity.bot_user_id)
    record["length"] = size
    if call.get("alt_txt"):
        record["alt_txt"] = call.get("alt_txt")
    return {"upload_url": f"{call.base_url}/_upload/{record['id']}", "file_id": record["id"]}


def complete_upload(call: ApiCall) -> dict[str, Any]:
    (listed,) = call.require("files")
    if not isinstance(listed, list) or not all(isinstance(f, dict) and f.get("id") for f in listed):
        raise ApiError("invalid_arguments")
    records = []
    for item in listed:
        record = call.workspace.files.get(str(item["id"]))
        if record is None or record["content"] is None:
            raise ApiError("file_not_found")
        if item.get("title"):
            record["title"] = item["title"]
        records.append(record)
    targets = [call.member_channel("channel_id")] if call.get("channel_id") else []
    for channel_id in str(call.get("channels", "")).split(","):
        if channel_id.strip():
            channel = call.workspace.find_channel(channel_id.strip())
            if channel is None:
                raise ApiError("channel_not_found")
            targets.append(channel)
    shared = None
    for channel in targets:
        root = thread_root(call, channel, call.get("thread_ts"))
        fields = {
            **posted_by_bot(call),
            "text": call.get("initial_comment", ""),
            "files": [file_object(call.workspace, r, call.base_url, channel) for r in records],
            "upload": True,
            "display_as_bot": False,
        }
        if root:
            fields["thread_ts"] = root
        call.workspace.post(channel, fields)
        for record in records:
            record.update(channel=channel.id, thread_ts=root)
        shared = channel
    return {"files": [file_object(call.workspace, r, call.base_url, shared) for r in records]}


async def receive_upload(workspace: Workspace, request: web.Request) -> web.Response:
    """The upload URL: takes the raw bytes (or a multipart `file`), answers "OK - <length>"."""
    record = workspace.files.get(request.match_info["file_id"])
    if record is None:
        return web.Response(status=404, text="file not found")
    if request.content_type == "multipart/form-data":
        form = await request.post()
        part = form.get("file") or form.get("filename")
        data = part.file.read() if hasattr(part, "file") else str(part or "").encode()
    else:
        data = await request.read()
    record["content"] = data
    return web.Response(text=f"OK - {len(data)}", content_type="text/plain")


async def serve_download(workspace: Workspace, request: web.Request) -> web.Response:
    record = workspace.files.get(request.match_info["file_id"])
    if token_of(request, {}) != workspace.identity.bot_token:
        return web.Response(
            text="<!DOCTYPE html><html><body>Sign in to Slack</body></html>", content_type="text/html"
        )
    if record is None or record["content"] is None:
        return web.Response(status=404, text="file not found")
    mimetype = mimetypes.guess_type(record["name"])[0] or "application/octet-stream"
    return web.Response(body=record["content"], content_type=mimetype)


FILE_METHODS: dict[str, Handler] = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
}
