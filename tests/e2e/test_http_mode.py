"""HTTP Events API mode: signatures gate everything, bad input never gets a 500, and the ack never waits."""

from __future__ import annotations

import json
import time

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
