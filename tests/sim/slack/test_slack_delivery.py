"""Slack sending to the app: signed HTTP requests and Socket Mode envelopes, retries included."""

from __future__ import annotations

import pytest
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from sim.slack import DeliveryError, SlackEmulator
from tests.sim.slack.helpers import RETRY_BUTTON
from tests.sim.slack.wire import Received, Receiver, SocketApp

# ----- HTTP


async def test_mention_in_a_channel_sends_app_mention_then_message(sim: SlackEmulator, receiver: Receiver):
    delivered = await sim.user_says("alice", "#general", "<@U0BOT> what is 2+2?")
    assert delivered.statuses == [200, 200]
    assert all(r.signature_ok for r in receiver.requests)
    mention, message = (r.body for r in receiver.requests)
    assert [mention["event"]["type"], message["event"]["type"]] == ["app_mention", "message"]
    assert mention["event_id"] != message["event_id"]
    assert delivered.event_ids == [mention["event_id"], message["event_id"]]
    assert mention["event"]["ts"] == message["event"]["ts"] == delivered.ts
    assert message["event"]["channel_type"] == "channel" and "channel_type" not in mention["event"]
    assert message["event"]["user"] == "U0ALICE" and message["event"]["text"] == "<@U0BOT> what is 2+2?"
    assert message["event"]["blocks"][0]["type"] == "rich_text"
    for body in (mention, message):
        assert body["type"] == "event_callback"
        assert (body["team_id"], body["api_app_id"]) == ("T0SIM", "A0SIM")
        assert body["authorizations"][0]["user_id"] == "U0BOT"
        assert body["is_ext_shared_channel"] is False and body["event_context"].startswith("4-")
        assert body["token"]


async def test_plain_message_private_channel_and_dm(sim: SlackEmulator, receiver: Receiver):
    await sim.user_says("bob", "random", "just chatting")
    await sim.user_says("bob", "secret", "psst")
    dm = await sim.user_says("bob", sim.dm_channel("bob"), "<@U0BOT> help")
    events = [r.body["event"] for r in receiver.requests]
    assert [(e["type"], e["channel_type"]) for e in events] == [
        ("message", "channel"),
        ("message", "group"),
        ("message", "im"),
    ]
    assert events[2]["channel"] == dm.channel


async def test_thread_reply_event_names_the_thread(sim: SlackEmulator, receiver: Receiver):
    root = await sim.user_says("alice", "general", "<@U0BOT> deploy")
    reply = await sim.user_says("carol", "general", "<@U0BOT> and staging?", thread_ts=root.ts)
    assert reply.thread_ts == root.ts
    event = receiver.requests[-1].body["event"]
    assert (event["thread_ts"], event["parent_user_id"]) == (root.ts, "U0ALICE")
    assert sim.message("general", root.ts)["reply_users"] == ["U0CAROL"]


async def test_other_bots_messages_arrive_as_bot_message(sim: SlackEmulator, receiver: Receiver):
    await sim.bot_says("B0OTHER", "general", "<@U0BOT> beep")
    mention, message = (r.body["event"] for r in receiver.requests)
    assert message["subtype"] == "bot_message" and message["bot_id"] == "B0OTHER" and "user" not in message
    assert mention["type"] == "app_mention" and mention["bot_id"] == "B0OTHER"


async def test_slow_app_gets_a_retry_with_slack_headers(sim: SlackEmulator, receiver: Receiver):
    sim.ack_timeout = 0.2
    first_seen: list[Received] = []

    async def hang_first(received: Received) -> web.StreamResponse:
        if not first_seen:
            first_seen.append(received)
            return await receiver.hang(received)
        return web.Response(status=200)

    receiver.respond = hang_first
    delivered = await sim.user_says("alice", "random", "hello")
    assert delivered.statuses == ["timeout", 200]
    first, retry = receiver.requests
    assert "X-Slack-Retry-Num" not in first.headers
    assert (retry.headers["X-Slack-Retry-Num"], retry.headers["X-Slack-Retry-Reason"]) == (
        "1",
        "http_timeout",
    )
    assert retry.body["event_id"] == first.body["event_id"]


async def test_explicit_redeliveries_sequential_and_concurrent(sim: SlackEmulator, receiver: Receiver):
    body = sim.event_callback(
        {"type": "message", "channel": "C0GENERAL", "user": "U0ALICE", "text": "x", "ts": "1.000001"}
    )
    assert body["event_id"].startswith("Ev")
    delivered = await sim.deliver(body, retries=2)
    assert delivered.statuses == [200, 200, 200]
    assert [r.headers.get("X-Slack-Retry-Num") for r in receiver.requests] == [None, "1", "2"]
    receiver.requests.clear()
    await sim.deliver(body, retries=2, concurrently=True)
    assert sorted(str(r.headers.get("X-Slack-Retry-Num")) for r in receiver.requests) == ["1", "2", "None"]
    assert {r.body["event_id"] for r in receiver.requests} == {body["event_id"]}


async def test_post_signed_lets_a_test_forge_bad_requests(sim: SlackEmulator, receiver: Receiver):
    status, _, _ = await sim.post_signed({"type": "event_callback", "event": {}}, signature="v0=forged")
    assert status == 401
    status, _, _ = await sim.post_signed(b'{"type": "event_callback"}', timestamp="1")
    assert status == 401  # SignatureVerifier rejects stale timestamps
    status, _, _ = await sim.post_signed({"type": "event_callback", "event": {}}, retry_num=3)
    assert status == 200 and receiver.requests[-1].headers["X-Slack-Retry-Num"] == "3"


async def test_click_and_slash_are_form_posts(sim: SlackEmulator, receiver: Receiver, client: AsyncWebClient):
    posted = await client.chat_postMessage(channel="general", text="Run failed", blocks=[RETRY_BUTTON])
    clicked = await sim.click("alice", "general", posted["ts"], action_id="retry_run")
    assert clicked.statuses == [200]
    click = receiver.requests[-1]
    assert click.headers["Content-Type"] == "application/x-www-form-urlencoded"
    payload = click.body
    assert payload["type"] == "block_actions"
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": "C0GENERAL",
        "is_ephemeral": False,
    }
    assert payload["actions"][0]["action_id"] == "retry_run" and payload["actions"][0]["value"] == "run-7"
    assert payload["actions"][0]["block_id"] == payload["message"]["blocks"][0]["block_id"]
    assert payload["user"]["id"] == "U0ALICE" and payload["response_url"].startswith(sim.url)
    with pytest.raises(LookupError, match="retry_run"):
        await sim.click("alice", "general", posted["ts"], action_id="nope")

    receiver.respond = lambda _: _json_answer({"text": "Usage: /chatops help"})
    slashed = await sim.slash("alice", "general", "/chatops", "help")
    form = receiver.requests[-1].body
    assert (form["command"], form["text"], form["user_name"], form["channel_name"]) == (
        "/chatops",
        "help",
        "alice",
        "general",
    )
    assert form["team_domain"] == "sim" and form["api_app_id"] == "A0SIM"
    assert slashed.response == {"text": "Usage: /chatops help"}


async def _json_answer(body: dict) -> web.StreamResponse:
    return web.json_response(body)


async def test_nowhere_to_deliver_is_an_error(sim: SlackEmulator):
    sim.deliverer.connect_wait = 0.05
    with pytest.raises(DeliveryError):
        await sim.user_says("alice", "general", "anyone?")
    assert sim.messages("general")[0]["text"] == "anyone?"


# ----- Socket Mode


async def test_socket_mode_envelopes_are_acked(sim: SlackEmulator, socket_app: SocketApp):
    delivered = await sim.user_says("alice", "general", "<@U0BOT> hi")
    assert delivered.statuses == ["acked", "acked"]
    mention, message = socket_app.received
    assert (mention.type, mention.retry_attempt, mention.retry_reason) == ("events_api", 0, "")
    assert mention.accepts_response_payload is False
    assert [mention.payload["event"]["type"], message.payload["event"]["type"]] == ["app_mention", "message"]
    socket_app.ack_payload = {"text": "ok"}
    slashed = await sim.slash("bob", "random", "/chatops", "status")
    assert socket_app.received[-1].type == "slash_commands"
    assert socket_app.received[-1].accepts_response_payload is True
    assert slashed.response == {"text": "ok"}


async def test_socket_mode_reconnects_after_disconnect(sim: SlackEmulator, socket_app: SocketApp):
    assert await sim.socket_disconnect("refresh_requested") == 1
    await sim.wait_for(lambda: sim.sockets.connections_opened == 2 and sim.socket_connection_count == 1)
    delivered = await sim.user_says("carol", "random", "still there?")
    assert delivered.statuses == ["acked"]
    assert socket_app.received[-1].payload["event"]["text"] == "still there?"
    assert len(sim.calls_to("apps.connections.open")) == 2


async def test_unacked_event_is_redelivered_once(sim: SlackEmulator, socket_app: SocketApp):
    sim.ack_timeout = 0.2
    socket_app.ack = False
    delivered = await sim.user_says("alice", "random", "hello?")
    assert delivered.statuses == ["timeout", "timeout"]
    first, retry = socket_app.received
    assert (retry.retry_attempt, retry.retry_reason) == (1, "timeout")
    assert retry.payload["event_id"] == first.payload["event_id"]


async def test_socket_mode_explicit_retries(sim: SlackEmulator, socket_app: SocketApp):
    body = sim.event_callback(
        {"type": "message", "channel": "C0GENERAL", "user": "U0BOB", "text": "x", "ts": "1.000002"}
    )
    delivered = await sim.deliver(body, retries=3)
    assert delivered.statuses == ["acked"] * 4
    assert [(r.retry_attempt, r.retry_reason) for r in socket_app.received] == [
        (0, ""),
        (1, "timeout"),
        (2, "timeout"),
        (3, "timeout"),
    ]
