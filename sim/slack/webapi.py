"""The Web API front door at /api/<method>: arguments, tokens, faults, recording, dispatch.

Arguments arrive the ways slack_sdk sends them: a JSON body, a form body, or query
parameters (often on a POST with an empty body); `blocks`, `metadata` and friends may be
JSON strings inside a form. API errors answer HTTP 200 with `{"ok": false, "error": ...}`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

from sim.slack.faults import Fault, Faults
from sim.slack.socket_mode import SocketHub
from sim.slack.state import Channel, Workspace

log = logging.getLogger(__name__)

JSON_ARGS = ("blocks", "attachments", "metadata", "view", "prompts", "chunks", "files", "loading_messages")
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
NO_TOKEN_METHODS = frozenset({"api.test"})
STREAM_METHODS = frozenset({"chat.startStream", "chat.appendStream", "chat.stopStream"})


class ApiError(Exception):
    """A Slack API error: `{"ok": false, "error": <error>, ...extra}` with an HTTP status."""

    def __init__(self, error: str, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra


def missing(*names: str) -> ApiError:
    messages = [f"[ERROR] missing required field: {n}" for n in names]
    return ApiError("invalid_arguments", response_metadata={"messages": messages})


@dataclass
class Call:
    """One Web API call the app made, as the emulator answered it."""

    method: str
    args: dict[str, Any]
    at: float
    ok: bool
    error: str | None = None
    status: int = 200
    response: dict[str, Any] | None = None
    dropped: bool = False
    wall: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        shown = {
            k: v for k, v in self.args.items() if k in ("channel", "channel_id", "ts", "thread_ts", "name")
        }
        text = self.args.get("text") or self.args.get("markdown_text") or ""
        if text:
            shown["text"] = text if len(text) <= 60 else text[:57] + "..."
        outcome = "ok" if self.ok else f"error={self.error}"
        return f"{self.method} {outcome} {shown}"


@dataclass
class ApiCall:
    """What a method handler gets: the arguments plus the workspace they act on."""

    method: str
    args: dict[str, Any]
    workspace: Workspace
    base_url: str
    sockets: SocketHub

    def get(self, name: str, default: Any = None) -> Any:
        value = self.args.get(name)
        return default if value in (None, "") else value

    def require(self, *names: str) -> list[Any]:
        absent = [n for n in names if self.get(n) is None]
        if absent:
            raise missing(*absent)
        return [self.args[n] for n in names]

    def flag(self, name: str) -> bool:
        return self.args.get(name) in (True, 1, "1", "true", "True")

    def number(self, name: str, default: int) -> int:
        try:
            return int(self.get(name, default))
        except (TypeError, ValueError) as e:
            raise ApiError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {name}"]}) from e

    def channel(self, name: str = "channel", names_ok: bool = False) -> Channel:
        """The conversation an argument names: an id, or a user id for chat.postMessage's DM shortcut.

        Like Slack, only the posting methods (`names_ok`) also take a name ("general", "#general").
        """
        (ref,) = self.require(name)
        ref = str(ref)
        workspace = self.workspace
        found = workspace.channels.get(ref)
        if found is None and names_ok:
            found = workspace.find_channel(ref)
            if found is None and ref in workspace.users and not workspace.users[ref].is_bot:
                found = workspace.dm_channel(ref)
        if found is None:
            raise ApiError("channel_not_found")
        return found

    def member_channel(self, name: str = "channel", names_ok: bool = False) -> Channel:
        """A conversation the bot must be in: private ones it is not in look absent, public ones refuse."""
        channel = self.channel(name, names_ok)
        if self.workspace.identity.bot_user_id not in channel.members:
            raise ApiError("channel_not_found" if channel.is_private or channel.is_im else "not_in_channel")
        return channel


Handler = Callable[[ApiCall], dict[str, Any]]


async def read_args(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.body_exists:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as e:
                raise ApiError("invalid_json") from e
            if not isinstance(body, dict):
                raise ApiError("invalid_json")
            args.update(body)
        else:
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for name in JSON_ARGS:
        if isinstance(args.get(name), str) and args[name].strip()[:1] in ("[", "{"):
            try:
                args[name] = json.loads(args[name])
            except ValueError:
                pass  # the handler reports the malformed value
    return args


def token_of(request: web.Request, args: dict[str, Any]) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and header[7:].strip():
        return header[7:].strip()
    return args.pop("token", None) or None


class WebApi:
    """Serves /api/<method> for the emulator, recording every call."""

    def __init__(
        self,
        workspace: Workspace,
        faults: Faults,
        sockets: SocketHub,
        methods: dict[str, Handler],
        record: Callable[[Call], None],
        base_url: Callable[[], str],
    ) -> None:
        self.workspace = workspace
        self.faults = faults
        self.sockets = sockets
        self.methods = methods
        self.record = record
        self.base_url = base_url

    def check_token(self, method: str, token: str | None) -> None:
        me = self.workspace.identity
        if method in NO_TOKEN_METHODS:
            return
        if not token:
            raise ApiError("not_authed")
        if token not in (me.bot_token, me.app_token):
            raise ApiError("invalid_auth")
        if (token == me.app_token) != (method in APP_TOKEN_METHODS):
            raise ApiError("not_allowed_token_type")

    def find_handler(self, method: str) -> Handler:
        handler = self.methods.get(method)
        if handler is None or (method in STREAM_METHODS and not self.workspace.streaming_enabled):
            raise ApiError("unknown_method", status=404, req_method=method)
        return handler

    async def handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        at = time.monotonic()
        args: dict[str, Any] = {}
        fault: Fault | None = None
        try:
            args = await read_args(request)
            token = token_of(request, args)
            pause = self.faults.take_delay(method)
            if pause:
                await asyncio.sleep(pause)
            self.check_token(method, token)
            handler = self.find_handler(method)
            fault = self.faults.take_fault(method, args)
            if fault is not None and not fault.drop_after_accept:
                raise ApiError(fault.error_code, status=fault.status)
            answer = handler(ApiCall(method, args, self.workspace, self.base_url(), self.sockets))
            status, body = 200, {"ok": True, **answer}
        except ApiError as e:
            status, body = e.status, {"ok": False, "error": e.error, **e.extra}
        except Exception:
            log.exception("Slack emulator failed on %s", method)
            status, body = 500, {"ok": False, "error": "internal_error"}
        dropped = fault is not None and fault.drop_after_accept
        self.record(Call(method, args, at, body["ok"], body.get("error"), status, body, dropped))
        if dropped and request.transport is not None:
            request.transport.abort()
            return web.Response(status=200)
        headers = {}
        if fault is not None and fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        return web.json_response(body, status=status, headers=headers)
