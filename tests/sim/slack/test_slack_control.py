"""`python -m sim.slack` on its own, driven through the /_sim/ control API."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.sim.slack.wire import Receiver, serve_receiver

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
async def receiver():
    found = Receiver(SignatureVerifier("sim-signing-secret"))
    runner = await serve_receiver(found)
    yield found
    found.released.set()
    await runner.cleanup()


@pytest.fixture
async def standalone(receiver: Receiver):
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sim.slack", "--port", "0", "--deliver-http", receiver.url,
        cwd=REPO, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=10)
        yield json.loads(line)
    finally:
        process.terminate()
        await process.wait()


async def test_say_calls_and_messages_over_the_control_api(standalone: dict, receiver: Receiver):
    url, api_url = standalone["url"], standalone["api_url"]
    assert api_url == url + "/api/"
    async with aiohttp.ClientSession() as http:
        said = await http.post(
            f"{url}/_sim/say", json={"user": "alice", "channel": "#general", "text": "<@U0BOT> hi"}
        )
        delivered = await said.json()
        assert delivered["statuses"] == [200, 200] and len(delivered["event_ids"]) == 2
        assert [r.body["event"]["type"] for r in receiver.requests] == ["app_mention", "message"]
        assert all(r.signature_ok for r in receiver.requests)

        client = AsyncWebClient(token="xoxb-sim-bot", base_url=api_url)
        await client.chat_postMessage(channel="general", text="hello alice", thread_ts=delivered["ts"])
        calls = await (await http.get(f"{url}/_sim/calls", params={"since": "0"})).json()
        assert [c["method"] for c in calls] == ["chat.postMessage"]
        assert (
            calls[0]["ok"] is True
            and isinstance(calls[0]["at"], float)
            and isinstance(calls[0]["wall"], float)
        )
        assert await (await http.get(f"{url}/_sim/calls", params={"since": "1"})).json() == []

        messages = await (await http.get(f"{url}/_sim/messages", params={"channel": "general"})).json()
        assert [m["text"] for m in messages] == ["<@U0BOT> hi", "hello alice"]
        unknown = await http.post(
            f"{url}/_sim/say", json={"user": "mallory", "channel": "general", "text": "x"}
        )
        assert unknown.status == 400
