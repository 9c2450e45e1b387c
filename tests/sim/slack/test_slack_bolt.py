"""slack_bolt's AsyncApp, unchanged, against the emulator: over HTTP and over Socket Mode.

If these pass, the payloads the emulator sends are shaped the way Bolt expects Slack's to be.
"""

from __future__ import annotations

import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant
from slack_sdk.web.async_client import AsyncWebClient

from sim.slack import SlackEmulator
from tests.sim.slack.helpers import RETRY_BUTTON


def build_app(sim: SlackEmulator) -> AsyncApp:
    client = AsyncWebClient(token=sim.identity.bot_token, base_url=sim.api_url)
    app = AsyncApp(client=client, signing_secret=sim.identity.signing_secret)

    @app.event("message")
    async def on_message() -> None:
        pass

    @app.action("retry_run")
    async def on_retry(ack, action, respond) -> None:
        await ack()
        await respond(text=f"Retrying {action['value']}", replace_original=False)

    @app.command("/chatops")
    async def on_command(ack, command) -> None:
        await ack(f"help for {command['user_name']}")

    return app


@pytest.fixture
async def http_app(sim: SlackEmulator):
    app = build_app(sim)
    runner = web.AppRunner(app.web_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    sim.deliver_http_to(f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events")
    yield app
    await runner.cleanup()


@pytest.fixture
async def socket_mode_app(sim: SlackEmulator):
    app = build_app(sim)
    handler = AsyncSocketModeHandler(app, sim.identity.app_token)
    await handler.connect_async()
    await sim.wait_socket_connected()
    yield app
    await handler.close_async()


async def test_mention_answered_in_thread_over_http(sim: SlackEmulator, http_app: AsyncApp):
    @http_app.event("app_mention")
    async def on_mention(event, say) -> None:
        await say(text=f"<@{event['user']}> 2+2 is 4", thread_ts=event["ts"])

    asked = await sim.user_says("alice", "#general", "<@U0BOT> what is 2+2?")
    assert asked.statuses == [200, 200]
    (reply,) = await sim.wait_for(lambda: sim.bot_replies("general", asked.ts))
    assert reply["text"] == "<@U0ALICE> 2+2 is 4"
    assert sim.calls_to("auth.test")[0].ok


async def test_button_and_command_over_http(sim: SlackEmulator, http_app: AsyncApp, client: AsyncWebClient):
    posted = await client.chat_postMessage(channel="general", text="Run 7 failed", blocks=[RETRY_BUTTON])
    clicked = await sim.click("alice", "general", posted["ts"], action_id="retry_run")
    assert clicked.statuses == [200]
    (answer,) = await sim.wait_for(lambda: sim.responses)
    assert (answer["body"]["text"], answer["user"], answer["channel"]) == (
        "Retrying run-7",
        "U0ALICE",
        "C0GENERAL",
    )
    assert sim.message("general", posted["ts"])["text"] == "Run 7 failed"  # not replaced

    helped = await sim.slash("bob", "random", "/chatops", "help")
    assert helped.response == {"text": "help for bob"}


async def test_stream_and_command_over_socket_mode(sim: SlackEmulator, socket_mode_app: AsyncApp):
    @socket_mode_app.event("app_mention")
    async def on_mention(say_stream) -> None:
        stream = await say_stream()
        await stream.append(markdown_text="Streaming ")
        await stream.stop(markdown_text="**done**")

    asked = await sim.user_says("carol", "general", "<@U0BOT> stream it")
    assert asked.statuses == ["acked", "acked"]
    (reply,) = await sim.wait_for(lambda: sim.bot_replies("general", asked.ts))
    await sim.wait_for_call("chat.stopStream")
    assert sim.message("general", reply["ts"])["markdown_text"] == "Streaming **done**"
    start = sim.calls_to("chat.startStream")[0]
    assert (start.args["recipient_user_id"], start.args["recipient_team_id"]) == ("U0CAROL", "T0SIM")

    helped = await sim.slash("alice", "general", "/chatops", "help")
    assert helped.response == {"text": "help for alice"}


async def test_assistant_thread_over_socket_mode(sim: SlackEmulator, socket_mode_app: AsyncApp):
    assistant = AsyncAssistant()

    @assistant.thread_started
    async def on_started(say, set_suggested_prompts) -> None:
        await say("How can I help?")
        await set_suggested_prompts(prompts=[{"title": "Deploys", "message": "What is deploying?"}])

    @assistant.user_message
    async def on_question(payload, set_status, say) -> None:
        await set_status("is thinking...")
        await say(f"You asked: {payload['text']}")

    socket_mode_app.use(assistant)
    dm = sim.dm_channel("alice")
    thread_ts = await sim.start_assistant_thread("alice", context_channel="general")
    await sim.wait_for(lambda: sim.suggested_prompts)
    assert [m["text"] for m in sim.bot_replies(dm, thread_ts)] == ["How can I help?"]

    await sim.user_says("alice", dm, "what is deploying?", thread_ts=thread_ts)
    await sim.wait_for(lambda: len(sim.bot_replies(dm, thread_ts)) == 2)
    assert sim.bot_replies(dm, thread_ts)[-1]["text"] == "You asked: what is deploying?"
    assert [(s["channel_id"], s["thread_ts"], s["status"]) for s in sim.statuses] == [
        (dm, thread_ts, "is thinking...")
    ]
