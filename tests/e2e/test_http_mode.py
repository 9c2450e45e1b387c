"""HTTP Events API mode: signatures gate everything, bad input never gets a 500, and the ack never waits."""

from __future__ import annotations

import json
import logging
import time
import urllib.parse

import aiohttp
import pytest

from sim.openai import Reply


async def signed_mention(slack, text="<@U0BOT> hello"):
    slack.deliveries_enabled = False
    message = await slack.user_says("alice", "#general", text)
    slack.deliveries_enabled = True
    event = {"type": "app_mention", "user": "U0ALICE", "text": text, "ts": message.ts, "channel": message.channel,
             "event_ts": message.ts}
    return message, json.dumps(slack.event_callback(event))


async def test_a_bad_signature_gets_401_and_nothing_runs(chat, slack, model):
    message, body = await signed_mention(slack)
    status, _, _ = await slack.post_signed(body, signature="v0=" + "0" * 64)
    assert status == 401
    status, _, _ = await slack.post_signed(body.replace("hello", "hellO"), timestamp=None,
                                           signature=None, headers={"X-Slack-Signature": "v0=" + "1" * 64})
    assert status == 401
    assert chat.runs_for(message) == [] and model.requests == []


@pytest.mark.parametrize(("skew", "status"), [(0, 200), (290, 200), (-290, 200), (301, 401), (-400, 401)])
async def test_stale_or_future_timestamps_are_refused(chat, slack, model, skew, status):
    model.default = Reply.text("ok")
    _, body = await signed_mention(slack)
    got, _, _ = await slack.post_signed(body, timestamp=str(int(time.time()) - skew))
    assert got == status


JUNK_HEADERS = [
    {"X-Slack-Request-Timestamp": "not-a-number"},
    {"X-Slack-Request-Timestamp": "1e9"},
    {"X-Slack-Request-Timestamp": ""},
    {"X-Slack-Request-Timestamp": "99999999999999999999999999"},
    {"X-Slack-Signature": ""},
    {"X-Slack-Signature": "v0=é" + "a" * 63},
    {"X-Slack-Signature": "sha256=abc"},
    {"X-Slack-Signature": "v0=" + "a" * 500},
]


@pytest.mark.parametrize("headers", JUNK_HEADERS)
async def test_junk_signature_headers_get_401_never_500(chat, slack, headers):
    _, body = await signed_mention(slack)
    status, _, _ = await slack.post_signed(body, headers=headers)
    assert status == 401


async def test_missing_signature_headers_get_401(chat, slack):
    async with aiohttp.ClientSession() as session:
        async with session.post(slack.deliverer.http_url, data=b'{"type": "event_callback"}') as response:
            assert response.status == 401


async def test_signed_garbage_is_dropped_with_400_and_a_malformed_event_is_logged(chat, slack, model, caplog):
    status, _, _ = await slack.post_signed(b'{"type": "event_callback", "event": ')
    assert status == 400
    broken = slack.event_callback({"type": "app_mention", "channel": "C0GENERAL", "text": "<@U0BOT> no user or ts"})
    status, _, _ = await slack.post_signed(json.dumps(broken))
    assert status == 200
    model.script(Reply.text("fine"))
    after = await chat.say("alice", "#general", "@chatops a good one after the bad one")
    await chat.finished(after)  # events are handled in order, so the broken one has been by now
    assert any("dropped a malformed message event" in r.getMessage() for r in caplog.records)
    assert len(model.requests) == 1


async def test_url_verification_is_answered(chat, slack):
    status, text, _ = await slack.post_signed({"type": "url_verification", "challenge": "abc123", "token": "x"})
    assert status == 200 and "abc123" in text


async def test_the_ack_does_not_wait_for_the_model(chat, slack, model):
    model.script(Reply.text("slow answer", delay=30))
    message, body = await signed_mention(slack)
    status, _, _ = await slack.post_signed(body)
    assert status == 200
    await model.wait_for_requests(1)
    assert model.calls_in_flight == 1 and chat.answer(message) == ""  # acked while the model still works


async def test_health_endpoint(chat, slack):
    url = slack.deliverer.http_url.replace("/slack/events", "/healthz")
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200 and (await response.json()) == {"ok": True}


def form(payload: dict) -> bytes:
    return b"payload=" + urllib.parse.quote(json.dumps(payload)).encode()


ALICE = {"id": "U0ALICE"}
MALFORMED = [
    form({"type": "block_actions"}),  # no user, no actions
    form({"type": "block_actions", "actions": [{"action_id": "open_pr"}]}),
    form({"type": "block_actions", "user": ALICE, "actions": [{"action_id": "retry_run"}]}),  # no channel
    form({"type": "block_actions", "user": ALICE, "channel": {"id": "C0GENERAL"}, "actions": "x"}),
    form({"type": "block_actions", "user": ALICE, "channel": {"id": "C0GENERAL"}, "actions": [{"action_id": 7}]}),
    form({"type": "block_actions", "user": ALICE, "channel": {"id": "C0GENERAL"},
          "actions": [{"action_id": "open_pr"}]}),  # no value
    form({"type": "block_actions", "user": ALICE, "container": {"channel_id": "C0GENERAL"},
          "actions": [{"action_id": "choose_repo", "value": "x"}]}),  # a pick without its option
    b"command=%2Fchatops&text=links",  # no channel, no user
    b"command=%2Fchatops&text=status&user_id=U0ALICE",
    b"command=%2Fchatops&text=link+repo+a%2Fb&channel_id=C0GENERAL",
]


@pytest.mark.parametrize("body", MALFORMED)
async def test_signed_but_malformed_clicks_and_commands_get_400_never_500(chat, slack, caplog, body):
    status, text, _ = await slack.post_signed(body)
    assert (status, json.loads(text)) == (400, {"error": "malformed payload"})
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_well_formed_click_on_something_gone_is_still_answered_politely(chat, slack):
    body = form({"type": "block_actions", "user": ALICE, "channel": {"id": "C0GENERAL"}, "team": {"id": "T0SIM"},
                 "actions": [{"action_id": "open_pr", "value": "p-none", "block_id": "b"}], "token": "x",
                 "api_app_id": "A0SIM"})
    status, _, _ = await slack.post_signed(body)
    assert status == 200


async def test_an_oversized_header_gets_400_without_a_traceback(chat, slack, caplog):
    async with aiohttp.ClientSession() as session, session.post(
            slack.deliverer.http_url, data=b"{}", headers={"X-Junk": "x" * 20_000}) as response:
        assert response.status == 400
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_over_socket_mode_malformed_clicks_and_commands_are_dropped_with_a_log_line(start_bot, slack, caplog):
    chat = await start_bot(mode="socket")
    bodies = [{"type": "block_actions", "user": ALICE, "channel": {"id": "C0GENERAL"},
               "actions": [{"action_id": "open_pr"}], "token": "x", "team": {"id": "T0SIM"}, "api_app_id": "A0SIM"},
              {"command": "/chatops", "text": "links", "token": "x", "team_id": "T0SIM", "api_app_id": "A0SIM"}]
    with caplog.at_level(logging.INFO):
        for body in bodies:
            await slack.deliver(body)
        await slack.wait_for(lambda: sum("dropped a malformed" in r.getMessage() for r in caplog.records) >= 2)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert slack.ephemerals == [] and chat.store.count_runs() == 0
