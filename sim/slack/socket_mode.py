"""Slack's Socket Mode server side: `wss://.../link/?ticket=...` connections, envelopes and acks.

A client gets a ticketed URL from apps.connections.open, connects, receives `hello`, then
envelopes, and acknowledges each with `{"envelope_id": ..., "payload"?: ...}`. Slack's
`disconnect` message asks it to fetch a new URL and reconnect; from then on Slack sends
nothing more to the old connection, and neither do we.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)


@dataclass
class SocketConnection:
    number: int
    ws: web.WebSocketResponse
    draining: bool = False
    pending: dict[str, asyncio.Future] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return not self.draining and not self.ws.closed


class NoSocketClientError(RuntimeError):
    """No Socket Mode client is connected to receive a delivery."""


class SocketHub:
    """Every Socket Mode connection to the emulator; sends envelopes to the newest one."""

    def __init__(self, app_id: str, on_change: Callable[[], None]) -> None:
        self.app_id = app_id
        self.on_change = on_change
        self.connections: list[SocketConnection] = []
        self.connections_opened = 0
        self._tickets: set[str] = set()
        self._numbers = itertools.count(1)
        self._usable_changed = asyncio.Event()

    @property
    def count(self) -> int:
        """Open connections that still receive envelopes."""
        return sum(1 for c in self.connections if c.usable)

    def issue_url(self, base_ws_url: str) -> str:
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        return f"{base_ws_url}/link/?ticket={ticket}&app_id={self.app_id}"

    def _changed(self) -> None:
        self._usable_changed.set()
        self._usable_changed = asyncio.Event()
        self.on_change()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        connection = SocketConnection(next(self._numbers), ws)
        self.connections.append(connection)
        self.connections_opened += 1
        await ws.send_str(json.dumps(self._hello(connection)))
        self._changed()
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    self._receive(connection, frame.data)
        finally:
            self.connections.remove(connection)
            for future in connection.pending.values():
                if not future.done():
                    future.set_result(("disconnected", None))
            self._changed()
        return ws

    def _hello(self, connection: SocketConnection) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": self.count,
            "debug_info": {
                "host": f"applink-sim-{connection.number}",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }

    def _receive(self, connection: SocketConnection, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            log.warning("socket mode client sent non-JSON text: %r", data[:200])
            return
        future = connection.pending.pop(message.get("envelope_id", ""), None)
        if future is not None and not future.done():
            future.set_result(("acked", message.get("payload")))

    async def _usable_connection(self, wait: float) -> SocketConnection:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            usable = [c for c in self.connections if c.usable]
            if usable:
                return usable[-1]
            changed = self._usable_changed
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise NoSocketClientError("no Socket Mode client is connected to the Slack emulator")
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                continue

    async def send(
        self, envelope: dict[str, Any], ack_timeout: float, connect_wait: float
    ) -> tuple[str, Any]:
        """Send one envelope to the newest usable connection and wait for its ack.

        Returns ("acked", ack payload), ("timeout", None) or ("disconnected", None).
        """
        connection = await self._usable_connection(connect_wait)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        connection.pending[envelope["envelope_id"]] = future
        try:
            await connection.ws.send_str(json.dumps(envelope))
        except ConnectionError:
            connection.pending.pop(envelope["envelope_id"], None)
            return ("disconnected", None)
        try:
            return await asyncio.wait_for(future, ack_timeout)
        except TimeoutError:
            connection.pending.pop(envelope["envelope_id"], None)
            return ("timeout", None)

    async def send_disconnect(self, reason: str) -> int:
        """Ask every connection to reconnect, as Slack does before rotating its servers."""
        targets = [c for c in self.connections if c.usable]
        for connection in targets:
            connection.draining = True
            message = {
                "type": "disconnect",
                "reason": reason,
                "debug_info": {"host": f"applink-sim-{connection.number}"},
            }
            try:
                await connection.ws.send_str(json.dumps(message))
            except ConnectionError:
                pass
        self._changed()
        return len(targets)

    async def close_all(self) -> None:
        for connection in list(self.connections):
            await connection.ws.close(code=1001, message=b"emulator stopping")
