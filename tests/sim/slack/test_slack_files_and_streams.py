"""Files, streamed replies, and the assistant and App Home methods, through the real slack_sdk client."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from sim.slack import SlackEmulator
from tests.sim.slack.helpers import RETRY_BUTTON, api_error

# ----- files


async def test_files_upload_v2_end_to_end(sim: SlackEmulator, client: AsyncWebClient):
    sim.deliveries_enabled = False
    asked = await sim.user_says("alice", "general", "<@U0BOT> give me the log")
    uploaded = await client.files_upload_v2(
        channel="C0GENERAL",
        thread_ts=asked.ts,
        content="line 1\nline 2\n",
        filename="run.log",
        title="Run log",
    )
    file_id = uploaded["file"]["id"]
    stored = sim.files[file_id]
    assert (stored["name"], stored["title"], stored["content"]) == ("run.log", "Run log", b"line 1\nline 2\n")
    assert (stored["channel"], stored["thread_ts"]) == ("C0GENERAL", asked.ts)
    reply = sim.bot_replies("general", asked.ts)[0]
    assert reply["files"][0]["id"] == file_id

    url = reply["files"][0]["url_private"]
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers={"Authorization": f"Bearer {sim.identity.bot_token}"}) as got:
            assert await got.read() == b"line 1\nline 2\n"
        async with http.get(url) as anonymous:
            assert anonymous.content_type == "text/html"  # like Slack: a login page, not the file


async def test_user_shared_file_is_downloadable(sim: SlackEmulator):
    sim.deliveries_enabled = False
    said = await sim.user_says(
        "bob", "general", "see attached", files=[{"name": "data.csv", "content": "a,b\n1,2\n"}]
    )
    message = sim.message("general", said.ts)
    assert message["subtype"] == "file_share"
    assert sim.files[message["files"][0]["id"]]["content"] == b"a,b\n1,2\n"


# ----- streaming


async def test_chat_stream_appends_and_stops(sim: SlackEmulator, client: AsyncWebClient):
    sim.deliveries_enabled = False
    asked = await sim.user_says("alice", "general", "<@U0BOT> explain")
    stream = await client.chat_stream(
        channel="C0GENERAL",
        thread_ts=asked.ts,
        recipient_user_id="U0ALICE",
        recipient_team_id="T0SIM",
        buffer_size=8,
    )
    await stream.append(markdown_text="**Short answer:**")  # fills the buffer: startStream
    await stream.append(markdown_text=" it works")  # appendStream
    await stream.stop(markdown_text=".", blocks=[RETRY_BUTTON])
    (reply,) = sim.bot_replies("general", asked.ts)
    assert reply["markdown_text"] == "**Short answer:** it works."
    assert [b["type"] for b in reply["blocks"]] == ["markdown", "actions"]
    assert reply["blocks"][1]["elements"][0]["action_id"] == "retry_run"
    assert [c.method for c in sim.calls if c.method.startswith("chat.")] == [
        "chat.startStream",
        "chat.appendStream",
        "chat.stopStream",
    ]
    with pytest.raises(SlackRequestError):
        await stream.append(markdown_text="more")
    late = await api_error(
        client.chat_appendStream(channel="C0GENERAL", ts=reply["ts"], markdown_text="late")
    )
    assert late.response["error"] == "message_not_in_streaming_state"


async def test_streaming_in_a_channel_needs_a_recipient_but_not_in_a_dm(
    sim: SlackEmulator, client: AsyncWebClient
):
    sim.deliveries_enabled = False
    in_channel = await sim.user_says("alice", "general", "q")
    failure = await api_error(
        client.chat_startStream(channel="C0GENERAL", thread_ts=in_channel.ts, markdown_text="a")
    )
    assert failure.response["error"] == "invalid_arguments"
    in_dm = await sim.user_says("alice", sim.dm_channel("alice"), "q")
    started = await client.chat_startStream(channel=in_dm.channel, thread_ts=in_dm.ts, markdown_text="a")
    assert sim.message(in_dm.channel, started["ts"])["stream_state"] == "streaming"


async def test_streaming_can_be_switched_off(sim: SlackEmulator, client: AsyncWebClient):
    sim.streaming_enabled = False
    sim.deliveries_enabled = False
    asked = await sim.user_says("alice", "general", "q")
    failure = await api_error(
        client.chat_startStream(
            channel="general", thread_ts=asked.ts, recipient_user_id="U0ALICE", recipient_team_id="T0SIM"
        )
    )
    assert failure.response["error"] == "unknown_method"


# ----- assistant and app home


async def test_assistant_and_home_calls_are_recorded(sim: SlackEmulator, client: AsyncWebClient):
    sim.deliveries_enabled = False
    thread_ts = await sim.start_assistant_thread("alice")
    dm = sim.dm_channel("alice")
    await client.assistant_threads_setStatus(channel_id=dm, thread_ts=thread_ts, status="is thinking...")
    await client.assistant_threads_setTitle(channel_id=dm, thread_ts=thread_ts, title="Deploys")
    prompts = [{"title": "Status", "message": "What is deploying?"}]
    await client.assistant_threads_setSuggestedPrompts(channel_id=dm, thread_ts=thread_ts, prompts=prompts)
    await client.views_publish(user_id="U0ALICE", view={"type": "home", "blocks": []})
    assert [(s["channel_id"], s["thread_ts"], s["status"]) for s in sim.statuses] == [
        (dm, thread_ts, "is thinking...")
    ]
    assert sim.titles[0]["title"] == "Deploys"
    assert sim.suggested_prompts[0]["prompts"] == prompts
    assert sim.views["U0ALICE"]["type"] == "home"
