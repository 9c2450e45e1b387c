"""Scripted faults, and the observation helpers tests rely on (calls, wait_for, listeners)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sim.slack import Call, SlackEmulator


async def test_rate_limit_surfaces_as_429_with_retry_after(sim: SlackEmulator, client: AsyncWebClient):
    sim.fail("chat.postMessage", error="ratelimited", status=429, retry_after=1, times=1)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="general", text="hi")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "1"
    assert caught.value.response["error"] == "ratelimited"
    assert sim.messages("general") == []
    await client.chat_postMessage(channel="general", text="hi")  # the fault was used up
    assert [c.ok for c in sim.calls_to("chat.postMessage")] == [False, True]


async def test_api_error_fault_answers_200(sim: SlackEmulator, client: AsyncWebClient):
    posted = await client.chat_postMessage(channel="general", text="hi")
    sim.fail("chat.update", error="invalid_blocks", times=1)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_update(channel="C0GENERAL", ts=posted["ts"], text="new")
    assert (caught.value.response.status_code, caught.value.response["error"]) == (200, "invalid_blocks")
    assert sim.message("general", posted["ts"])["text"] == "hi"


async def test_server_errors_for_a_number_of_calls(sim: SlackEmulator, client: AsyncWebClient):
    posted = await client.chat_postMessage(channel="general", text="hi")
    sim.fail("reactions.add", status=500, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as caught:
            await client.reactions_add(channel="C0GENERAL", timestamp=posted["ts"], name="eyes")
        assert caught.value.response.status_code == 500
    await client.reactions_add(channel="C0GENERAL", timestamp=posted["ts"], name="eyes")


async def test_permanent_fault_lasts_until_cleared(sim: SlackEmulator, client: AsyncWebClient):
    sim.fail("assistant.threads.setStatus", error="not_allowed", times=None)
    for _ in range(3):
        with pytest.raises(SlackApiError):
            await client.assistant_threads_setStatus(channel_id="C0GENERAL", thread_ts="1.1", status="x")
    sim.clear_faults()
    sim.deliveries_enabled = False
    said = await sim.user_says("alice", "general", "hi")
    await client.assistant_threads_setStatus(channel_id="C0GENERAL", thread_ts=said.ts, status="x")


async def test_dropped_connection_after_the_message_was_stored(sim: SlackEmulator):
    no_retries = AsyncWebClient(token=sim.identity.bot_token, base_url=sim.api_url, retry_handlers=[])
    sim.fail("chat.postMessage", drop_after_accept=True, times=1)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await no_retries.chat_postMessage(channel="general", text="did it post?")
    assert [m["text"] for m in sim.messages("general")] == ["did it post?"]
    assert sim.calls_to("chat.postMessage")[0].dropped


async def test_default_client_retries_a_dropped_post_and_duplicates_it(
    sim: SlackEmulator, client: AsyncWebClient
):
    """slack_sdk retries ServerDisconnectedError once by default, so Slack sees the post twice."""
    sim.fail("chat.postMessage", drop_after_accept=True, times=1)
    await client.chat_postMessage(channel="general", text="twice")
    assert [m["text"] for m in sim.messages("general")] == ["twice", "twice"]


async def test_delay_slows_one_call(sim: SlackEmulator, client: AsyncWebClient):
    sim.deliveries_enabled = False
    said = await sim.user_says("alice", "general", "hi")
    sim.delay("conversations.replies", seconds=0.3, times=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await client.conversations_replies(channel="C0GENERAL", ts=said.ts)
    assert loop.time() - started >= 0.3
    started = loop.time()
    await client.conversations_replies(channel="C0GENERAL", ts=said.ts)
    assert loop.time() - started < 0.3


async def test_wait_for_returns_the_predicates_value(sim: SlackEmulator, client: AsyncWebClient):
    async def post_later():
        await client.chat_postMessage(channel="general", text="eventually")

    task = asyncio.create_task(post_later())
    found = await sim.wait_for(lambda: [m for m in sim.messages("general") if m["text"] == "eventually"])
    assert found[0]["bot_id"] == "B0BOT"
    call = await sim.wait_for_call("chat.postMessage", lambda c: c.args["text"] == "eventually")
    assert call.ok and call.response["ts"] == found[0]["ts"]
    await task


async def test_wait_for_timeout_names_the_last_calls(sim: SlackEmulator, client: AsyncWebClient):
    await client.chat_postMessage(channel="general", text="not what you wait for")
    with pytest.raises(AssertionError) as caught:
        await sim.wait_for(lambda: False, timeout=0.05)
    assert "chat.postMessage ok" in str(caught.value)


async def test_listeners_see_calls_and_user_messages(sim: SlackEmulator, client: AsyncWebClient):
    seen: list[tuple[str, object]] = []
    sim.listeners.append(lambda kind, data: seen.append((kind, data)))
    sim.deliveries_enabled = False
    await sim.user_says("bob", "random", "hello bot")
    await client.chat_postMessage(channel="random", text="hello bob")
    kinds = [kind for kind, _ in seen]
    assert kinds == ["message", "call"]
    assert seen[0][1]["text"] == "hello bot"
    assert isinstance(seen[1][1], Call) and seen[1][1].method == "chat.postMessage"
