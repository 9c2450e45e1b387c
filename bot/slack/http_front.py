"""HTTP mode: the Events API endpoint (`/slack/events`) and `/healthz`, on a thread of their own.

Slack wants a 200 within 3 s and retries otherwise. So the endpoint runs on its own event loop
in its own thread, where nothing else competes: it checks the signature (bad, stale or
malformed: 401; a signed body that is not a Slack payload: 400), acks events at once and hands
them to the Bolt app on the main loop. Commands, clicks and url_verification wait for Bolt,
since Bolt's answer is the response.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from concurrent.futures import Future

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.slack import payloads
from bot.slack.signature import RequestVerifier

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
SWITCH_INTERVAL = 0.001  # seconds a busy thread may hold the GIL before another gets it (default 0.005)


class HttpFront:
    def __init__(self, app: AsyncApp, verifier: RequestVerifier, main_loop: asyncio.AbstractEventLoop) -> None:
        self.app = app
        self.verifier = verifier
        self.main_loop = main_loop
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._pending: set[Future[None]] = set()

    async def start(self, host: str, port: int) -> int:
        # This thread must get the GIL quickly even while the main loop is busy with runs.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        started: Future[int] = Future()
        self._thread = threading.Thread(target=self._serve, args=(host, port, started), name="slack-http",
                                        daemon=True)
        self._thread.start()
        self.port = await asyncio.wrap_future(started)
        return self.port

    async def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._cleanup(), self._loop)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join, 10)
        for future in list(self._pending):  # events acked but still being handled
            await asyncio.wrap_future(future)

    def _serve(self, host: str, port: int, started: Future) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._listen(host, port, started))
        except BaseException as exc:
            started.set_exception(exc)
            return
        self._loop.run_forever()
        self._loop.close()

    async def _listen(self, host: str, port: int, started: Future) -> None:
        web_app = web.Application(client_max_size=2 * 1024 * 1024)
        web_app.add_routes([web.post(EVENTS_PATH, self._events), web.get("/healthz", self._healthz)])
        self._runner = web.AppRunner(web_app, access_log=None, logger=_server_log)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server), "a started TCPSite has a server"
        started.set_result(server.sockets[0].getsockname()[1])  # the real port when asked for 0

    async def _cleanup(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        asyncio.get_running_loop().stop()

    async def _events(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not self.verifier.verify(body, request.headers):
            log.info("rejected a request with a bad signature from %s", request.remote)
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            bolt_request = AsyncBoltRequest(
                body=body.decode("utf-8"), query=request.query_string,
                headers={k.lower(): v for k, v in request.headers.items()},
            )
        except Exception as exc:
            log.warning("dropped a signed request that is not a Slack payload (%s)", type(exc).__name__,
                        exc_info=True)
            return web.json_response({"error": "malformed payload"}, status=400)
        wrong = payloads.problem(bolt_request.body)
        if wrong is not None:
            log.info("dropped a signed but malformed request: %s", wrong)
            return web.json_response({"error": "malformed payload"}, status=400)
        if bolt_request.body.get("type") == "event_callback":
            future = asyncio.run_coroutine_threadsafe(_dispatch_event(self.app, bolt_request), self.main_loop)
            self._pending.add(future)
            future.add_done_callback(self._pending.discard)
            return web.Response(status=200)
        response = asyncio.run_coroutine_threadsafe(self.app.async_dispatch(bolt_request), self.main_loop)
        return await to_aiohttp_response(await asyncio.wrap_future(response))

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})


class _MalformedHttpQuietly(logging.Filter):
    """aiohttp logs an unparsable request (an oversized header, say) as an error with a traceback; it is
    the sender's mistake, answered with 400: one info line without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, BadHttpMessage):
            record.msg, record.args = "refused a malformed HTTP request (%s)", (type(exc).__name__,)
            record.exc_info, record.levelno, record.levelname = None, logging.INFO, "INFO"
        return True


_server_log = logging.getLogger(__name__ + ".server")
_server_log.addFilter(_MalformedHttpQuietly())


async def _dispatch_event(app: AsyncApp, request: AsyncBoltRequest) -> None:
    try:
        response = await app.async_dispatch(request)
    except Exception:
        log.exception("an event could not be dispatched")
        return
    if response.status >= 400:
        log.warning("an event was not handled (Bolt answered %d)", response.status)
