"""SlackEmulator: one local server that is Slack to the bot: Web API, Socket Mode, event delivery.

Typical use: `await sim.start()` (ephemeral port), point `AsyncWebClient(base_url=sim.api_url)`
at it, make a person speak with `await sim.user_says("alice", "#general", "<@U0BOT> hi")`,
then `await sim.wait_for(lambda: sim.bot_replies("general", delivered.ts))`.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sim.call_log import CallLog
from sim.slack.actions import WorkspaceActions
from sim.slack.app_methods import APP_METHODS
from sim.slack.chat_methods import CHAT_METHODS
from sim.slack.control import control_routes
from sim.slack.conversation_methods import CONVERSATION_METHODS
from sim.slack.delivery import Delivered, Deliverer
from sim.slack.events import Payloads
from sim.slack.faults import Delay, Fault, Faults
from sim.slack.file_methods import FILE_METHODS, receive_upload, serve_download
from sim.slack.socket_mode import SocketHub
from sim.slack.state import Identity, Workspace
from sim.slack.webapi import Call, WebApi

log = logging.getLogger(__name__)



class SlackEmulator(WorkspaceActions, CallLog[Call]):
    """A local Slack workspace with the bot installed; see the module docstring."""

    label, nothing_yet = "Slack emulator", "(no Web API calls)"

    def __init__(
        self,
        bot_token: str = "xoxb-sim-bot",
        app_token: str = "xapp-sim-app",
        signing_secret: str = "sim-signing-secret",
        team_id: str = "T0SIM",
        team_domain: str = "sim",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0SIM",
        bot_name: str = "chatops",
    ) -> None:
        CallLog.__init__(self)
        self.identity = Identity(
            bot_token, app_token, signing_secret, team_id, team_domain, bot_user_id, bot_id, app_id, bot_name
        )
        self.workspace = Workspace(self.identity)
        self.payloads = Payloads(self.workspace)
        self.faults = Faults()
        self.deliveries_enabled = True
        self.timeout_redeliveries = 1
        self.sockets = SocketHub(app_id, self._notify)
        self.deliverer = Deliverer(signing_secret, self.sockets, self._notify)
        self.response_urls: dict[str, dict[str, Any]] = {}
        self.url = ""
        self._runner: web.AppRunner | None = None
        methods = {**CHAT_METHODS, **CONVERSATION_METHODS, **FILE_METHODS, **APP_METHODS}
        self.web_api = WebApi(
            self.workspace, self.faults, self.sockets, methods, self._record, lambda: self.url
        )

    # ----- lifecycle

    @property
    def api_url(self) -> str:
        """What AsyncWebClient(base_url=...) takes, trailing slash included."""
        return f"{self.url}/api/"

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=1024**3)
        app.router.add_route("*", "/api/{method}", self.web_api.handle)
        app.router.add_get("/link/", self.sockets.handle)
        app.router.add_get("/link", self.sockets.handle)

        async def upload(request: web.Request) -> web.Response:
            return await receive_upload(self.workspace, request)

        async def download(request: web.Request) -> web.Response:
            return await serve_download(self.workspace, request)

        app.router.add_post("/_upload/{file_id}", upload)
        app.router.add_get("/_files/{file_id}/{name}", download)
        app.router.add_routes(control_routes(self))
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> SlackEmulator:
        self._runner = web.AppRunner(self.web_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound_port}"
        return self

    async def stop(self) -> None:
        await self.sockets.close_all()
        await self.deliverer.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackEmulator:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ----- the workspace

    def add_user(self, name: str, real_name: str | None = None, *, guest: str | None = None,
                 team_id: str | None = None) -> str:
        """A person; `guest="multi"|"single"` makes a Slack guest, `team_id` a Slack Connect user."""
        return self.workspace.add_user(name, real_name, guest=guest, team_id=team_id).id

    def add_channel(
        self, name: str, private: bool = False, members: list[str] | None = None, bot_member: bool = True
    ) -> str:
        """A new channel; everyone (or `members`) is in it, and the bot too unless bot_member=False."""
        return self.workspace.add_channel(name, private, members, bot_member).id

    def dm_channel(self, user_name: str) -> str:
        return self.workspace.dm_channel(user_name).id

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return self.workspace.files

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        return self.workspace.ephemerals

    @property
    def responses(self) -> list[dict[str, Any]]:
        return self.workspace.responses

    @property
    def statuses(self) -> list[dict[str, Any]]:
        return self.workspace.statuses

    @property
    def titles(self) -> list[dict[str, Any]]:
        return self.workspace.titles

    @property
    def suggested_prompts(self) -> list[dict[str, Any]]:
        return self.workspace.suggested_prompts

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        return self.workspace.views

    @property
    def streaming_enabled(self) -> bool:
        return self.workspace.streaming_enabled

    @streaming_enabled.setter
    def streaming_enabled(self, enabled: bool) -> None:
        self.workspace.streaming_enabled = enabled

    # ----- delivery settings and raw delivery

    def deliver_http_to(self, url: str | None) -> None:
        """Deliver as signed HTTP POSTs to `url`; None goes back to Socket Mode."""
        self.deliverer.http_url = url

    @property
    def ack_timeout(self) -> float:
        """Seconds Slack waits for an HTTP answer or a Socket Mode ack (3 by default, like Slack)."""
        return self.deliverer.ack_timeout

    @ack_timeout.setter
    def ack_timeout(self, seconds: float) -> None:
        self.deliverer.ack_timeout = seconds

    def event_callback(self, event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
        return self.payloads.event_callback(event, event_id)

    async def post_signed(
        self,
        body: bytes | str | dict[str, Any],
        retry_num: int | None = None,
        timestamp: str | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str, dict[str, str]]:
        try:
            return await self.deliverer.post_signed(body, retry_num, timestamp, signature, headers)
        finally:
            self._notify()

    async def deliver(self, body: dict[str, Any], retries: int = 0, concurrently: bool = False) -> Delivered:
        return await self.deliverer.deliver(body, retries, concurrently)

    # ----- Socket Mode

    @property
    def socket_connection_count(self) -> int:
        return self.sockets.count

    async def wait_socket_connected(self, timeout: float = 10.0, count: int = 1) -> int:  # noqa: ASYNC109
        return await self.wait_for(lambda: self.sockets.count >= count and self.sockets.count, timeout)

    async def socket_disconnect(self, reason: str = "refresh_requested") -> int:
        """Send Slack's `disconnect` to every client; returns how many were asked to reconnect.

        Those connections get no more envelopes, so `socket_connection_count` drops to 0 until the
        client has reconnected: `await sim.wait_socket_connected()` waits for that.
        """
        return await self.sockets.send_disconnect(reason)

    # ----- faults

    def fail(
        self,
        method: str,
        error: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        times: int | None = 1,
        drop_after_accept: bool = False,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> Fault:
        """Make calls to `method` fail; `when` limits it to calls whose arguments match."""
        return self.faults.fail(method, error, status, retry_after, times, drop_after_accept, when)

    def delay(self, method: str, seconds: float, times: int | None = 1) -> Delay:
        return self.faults.delay(method, seconds, times)

    def clear_faults(self) -> None:
        self.faults.clear()

    # ----- observing

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.workspace.history[self.workspace.channel(channel).id])

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.workspace.message(self.workspace.channel(channel).id, ts))

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.workspace.thread(self.workspace.channel(channel).id, thread_ts))

    def bot_replies(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The bot's replies in a thread (the root is never included)."""
        return [m for m in self.thread(channel, thread_ts)[1:] if m.get("bot_id") == self.identity.bot_id]

    def reactions(self, channel: str, ts: str) -> set[str]:
        message = self.workspace.message(self.workspace.channel(channel).id, ts) or {}
        return {r["name"] for r in message.get("reactions", [])}


    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[Call], Any] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109
        since: int = 0,
    ) -> Call:
        """The first call to `method` (from index `since` in `calls`) that satisfies `predicate`."""

        def found() -> Call | None:
            return next(
                (c for c in self.calls[since:] if c.method == method and (predicate is None or predicate(c))),
                None,
            )

        return await self.wait_for(found, timeout)
