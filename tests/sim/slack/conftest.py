"""Fixtures: a started Slack emulator, the real slack_sdk client pointed at it, an HTTP receiver
playing the app's events endpoint (checking Slack's signatures), and a Socket Mode app."""

from __future__ import annotations

import pytest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.web.async_client import AsyncWebClient

from sim.slack import SlackEmulator
from tests.sim.slack.wire import Receiver, SocketApp, serve_receiver


@pytest.fixture
async def sim():
    emulator = SlackEmulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
def client(sim: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=sim.identity.bot_token, base_url=sim.api_url)


@pytest.fixture
async def receiver(sim: SlackEmulator):
    found = Receiver(SignatureVerifier(sim.identity.signing_secret))
    runner = await serve_receiver(found)
    sim.deliver_http_to(found.url)
    yield found
    found.released.set()
    await runner.cleanup()


@pytest.fixture
async def socket_app(sim: SlackEmulator):
    client = SocketModeClient(
        app_token=sim.identity.app_token, web_client=AsyncWebClient(base_url=sim.api_url)
    )
    app = SocketApp(client)
    await client.connect()
    await sim.wait_socket_connected()
    yield app
    await client.close()
