"""The emulator's Web API, exercised through the real slack_sdk AsyncWebClient."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from sim.slack import SlackEmulator
from tests.sim.slack.helpers import RETRY_BUTTON, api_error

# ----- auth


async def test_auth_test_describes_the_bot(client: AsyncWebClient):
    identity = await client.auth_test()
    assert identity["user_id"] == "U0BOT"
    assert identity["bot_id"] == "B0BOT"
    assert identity["team_id"] == "T0SIM"
    assert identity["user"] == "chatops"
    assert identity["is_enterprise_install"] is False


async def test_tokens_are_checked_like_slack(sim: SlackEmulator):
    no_token = await api_error(AsyncWebClient(base_url=sim.api_url).auth_test())
    assert (no_token.response.status_code, no_token.response["error"]) == (200, "not_authed")
    wrong = await api_error(AsyncWebClient(token="xoxb-nope", base_url=sim.api_url).auth_test())
    assert wrong.response["error"] == "invalid_auth"
    app_token = await api_error(
        AsyncWebClient(token=sim.identity.app_token, base_url=sim.api_url).auth_test()
    )
    assert app_token.response["error"] == "not_allowed_token_type"


async def test_connections_open_needs_the_app_token(sim: SlackEmulator, client: AsyncWebClient):
    opened = await client.apps_connections_open(app_token=sim.identity.app_token)
    assert opened["url"].startswith(sim.url.replace("http://", "ws://") + "/link/?ticket=")
    bot = await api_error(client.apps_connections_open(app_token=sim.identity.bot_token))
    assert bot.response["error"] == "not_allowed_token_type"


async def test_form_posts_with_token_and_json_strings(sim: SlackEmulator):
    form = {
        "token": sim.identity.bot_token,
        "channel": "C0GENERAL",
        "text": "from a form",
        "blocks": '[{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]',
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sim.api_url}chat.postMessage", data=form) as answer:
            body = await answer.json()
        async with http.get(f"{sim.api_url}conversations.history", params={"channel": "C0GENERAL"}) as answer:
            unauthenticated = await answer.json()
    assert body["ok"] is True
    assert body["message"]["blocks"][0]["text"]["text"] == "*hi*"
    assert unauthenticated == {"ok": False, "error": "not_authed"}


async def test_unknown_method(client: AsyncWebClient):
    error = await api_error(client.api_call("chat.teleport"))
    assert error.response["error"] == "unknown_method"


# ----- messages and threads


async def test_thread_reply_shows_in_replies_and_bumps_the_parent(sim: SlackEmulator, client: AsyncWebClient):
    sim.deliveries_enabled = False
    asked = await sim.user_says("alice", "#general", "<@U0BOT> what is 2+2?")
    posted = await client.chat_postMessage(channel="general", text="4", thread_ts=asked.ts)
    assert posted["channel"] == "C0GENERAL"
    assert posted["message"]["bot_id"] == "B0BOT"
    assert posted["message"]["thread_ts"] == asked.ts

    thread = await client.conversations_replies(channel="C0GENERAL", ts=asked.ts)
    root, reply = thread["messages"]
    assert root["ts"] == asked.ts and root["user"] == "U0ALICE"
    assert (root["reply_count"], root["latest_reply"], root["reply_users"]) == (1, posted["ts"], ["U0BOT"])
    assert reply["text"] == "4" and reply["parent_user_id"] == "U0ALICE"
    assert thread["has_more"] is False

    history = await client.conversations_history(channel="C0GENERAL")
    assert [m["ts"] for m in history["messages"]] == [asked.ts]
    assert sim.bot_replies("general", asked.ts)[0]["text"] == "4"


async def test_replies_paginate_with_cursor_and_repeat_the_root(sim: SlackEmulator, client: AsyncWebClient):
    sim.deliveries_enabled = False
    root = await sim.user_says("bob", "general", "long thread")
    for n in range(5):
        await client.chat_postMessage(channel="general", text=f"reply {n}", thread_ts=root.ts)
    seen, cursor, pages = [], None, 0
    while True:
        page = await client.conversations_replies(channel="C0GENERAL", ts=root.ts, limit=3, cursor=cursor)
        pages += 1
        assert page["messages"][0]["ts"] == root.ts
        seen += [m["text"] for m in page["messages"][1:]]
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] is bool(cursor)
        if not cursor:
            break
    assert seen == [f"reply {n}" for n in range(5)]
    assert pages == 3


async def test_metadata_is_returned_only_when_asked(sim: SlackEmulator, client: AsyncWebClient):
    sim.deliveries_enabled = False
    root = await sim.user_says("alice", "general", "hi")
    metadata = {"event_type": "run_started", "event_payload": {"run_id": "r1"}}
    await client.chat_postMessage(channel="general", text="working", thread_ts=root.ts, metadata=metadata)
    plain = await client.conversations_replies(channel="C0GENERAL", ts=root.ts)
    assert "metadata" not in plain["messages"][1]
    full = await client.conversations_replies(channel="C0GENERAL", ts=root.ts, include_all_metadata=True)
    assert full["messages"][1]["metadata"] == metadata


async def test_update_marks_the_message_edited(sim: SlackEmulator, client: AsyncWebClient):
    posted = await client.chat_postMessage(channel="general", text="working...", blocks=[RETRY_BUTTON])
    updated = await client.chat_update(channel="C0GENERAL", ts=posted["ts"], text="done")
    assert updated["message"]["edited"]["user"] == "U0BOT"
    stored = sim.message("general", posted["ts"])
    assert stored["text"] == "done"
    assert stored["blocks"][0]["elements"][0]["action_id"] == "retry_run"  # blocks kept when not given


async def test_update_refuses_other_peoples_messages(sim: SlackEmulator, client: AsyncWebClient):
    sim.deliveries_enabled = False
    said = await sim.user_says("alice", "general", "mine")
    theirs = await api_error(client.chat_update(channel="C0GENERAL", ts=said.ts, text="hijack"))
    assert theirs.response["error"] == "cant_update_message"
    missing = await api_error(client.chat_update(channel="C0GENERAL", ts="1.000001", text="x"))
    assert missing.response["error"] == "message_not_found"


async def test_delete_leaves_a_tombstone_for_a_thread_root(sim: SlackEmulator, client: AsyncWebClient):
    root = await client.chat_postMessage(channel="general", text="root")
    reply = await client.chat_postMessage(channel="general", text="reply", thread_ts=root["ts"])
    await client.chat_delete(channel="C0GENERAL", ts=reply["ts"])
    assert sim.message("general", root["ts"])["reply_count"] == 0
    lone = await client.chat_postMessage(channel="general", text="lone")
    await client.chat_delete(channel="C0GENERAL", ts=lone["ts"])
    assert sim.message("general", lone["ts"]) is None
    await client.chat_postMessage(channel="general", text="again", thread_ts=root["ts"])
    await client.chat_delete(channel="C0GENERAL", ts=root["ts"])
    assert sim.message("general", root["ts"])["subtype"] == "tombstone"


async def test_markdown_text_becomes_a_markdown_block(sim: SlackEmulator, client: AsyncWebClient):
    posted = await client.chat_postMessage(channel="general", markdown_text="**bold** answer")
    stored = sim.message("general", posted["ts"])
    assert stored["markdown_text"] == "**bold** answer"
    assert stored["blocks"][0]["type"] == "markdown"
    conflict = await api_error(client.chat_postMessage(channel="general", markdown_text="x", text="y"))
    assert conflict.response["error"] == "markdown_text_conflict"


async def test_only_posting_methods_take_channel_names(client: AsyncWebClient):
    posted = await client.chat_postMessage(channel="#general", text="by name")
    assert posted["channel"] == "C0GENERAL"
    by_name = await api_error(client.conversations_history(channel="general"))
    assert by_name.response["error"] == "channel_not_found"


async def test_broadcast_reply_is_listed_in_history(client: AsyncWebClient):
    root = await client.chat_postMessage(channel="general", text="root")
    await client.chat_postMessage(
        channel="general", text="also here", thread_ts=root["ts"], reply_broadcast=True
    )
    history = await client.conversations_history(channel="C0GENERAL")
    assert [(m["text"], m.get("subtype")) for m in history["messages"]] == [
        ("also here", "thread_broadcast"),
        ("root", None),
    ]


async def test_a_users_id_as_channel_posts_in_their_dm(sim: SlackEmulator, client: AsyncWebClient):
    posted = await client.chat_postMessage(channel="U0BOB", text="psst")
    assert posted["channel"] == sim.dm_channel("bob")
    assert posted["channel"].startswith("D")


# ----- errors


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(action_id: str, text: str) -> dict:
    return {"type": "button", "action_id": action_id, "text": plain(text)}


def actions(*elements: dict) -> dict:
    return {"type": "actions", "elements": list(elements)}


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"channel": "C0NOPE", "text": "x"}, "channel_not_found"),
        ({"channel": "general"}, "no_text"),
        ({"channel": "general", "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": "general", "text": "x", "thread_ts": "123.456"}, "thread_not_found"),
        ({"channel": "general", "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
        ({"channel": "general", "blocks": [section("x" * 3001)]}, "invalid_blocks"),
        ({"channel": "general", "blocks": [{"type": "header", "text": plain("x" * 151)}]}, "invalid_blocks"),
        ({"channel": "general", "blocks": [{"type": "markdown", "text": "x" * 12_001}]}, "invalid_blocks"),
        ({"channel": "general", "blocks": [{"type": "markdown", "text": "x" * 7000}] * 2}, "invalid_blocks"),
        ({"channel": "general", "blocks": [{"type": "carousel"}]}, "invalid_blocks"),
        ({"channel": "general", "blocks": [actions({"type": "button", "text": plain("Go")})]}, "invalid_blocks"),
        ({"channel": "general", "blocks": [actions(button("a", "x" * 76))]}, "invalid_blocks"),
        ({"channel": "general", "blocks": [actions(*(button(f"a{i}", "b") for i in range(26)))]}, "invalid_blocks"),
    ],
)  # fmt: skip
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_post_message_rejects_what_slack_rejects(client: AsyncWebClient, arguments: dict, error: str):
    failure = await api_error(client.chat_postMessage(**arguments))
    assert failure.response.status_code == 200
    assert failure.response["error"] == error
    if error == "invalid_blocks":
        assert failure.response["response_metadata"]["messages"]


async def test_not_in_channel(sim: SlackEmulator, client: AsyncWebClient):
    sim.add_channel("ops", bot_member=False)
    failure = await api_error(client.chat_postMessage(channel="#ops", text="hello"))
    assert failure.response["error"] == "not_in_channel"


# ----- reactions, ephemerals, permalinks


async def test_reactions_are_stored_on_the_message(sim: SlackEmulator, client: AsyncWebClient):
    sim.deliveries_enabled = False
    said = await sim.user_says("carol", "random", "deploy please")
    await client.reactions_add(channel="C0RANDOM", timestamp=said.ts, name="eyes")
    again = await api_error(client.reactions_add(channel="C0RANDOM", timestamp=said.ts, name="eyes"))
    assert again.response["error"] == "already_reacted"
    assert sim.reactions("random", said.ts) == {"eyes"}
    history = await client.conversations_history(channel="C0RANDOM")
    assert history["messages"][0]["reactions"] == [{"name": "eyes", "users": ["U0BOT"], "count": 1}]
    await client.reactions_remove(channel="C0RANDOM", timestamp=said.ts, name="eyes")
    assert sim.reactions("random", said.ts) == set()
    gone = await api_error(client.reactions_remove(channel="C0RANDOM", timestamp=said.ts, name="eyes"))
    assert gone.response["error"] == "no_reaction"
    lost = await api_error(client.reactions_add(channel="C0RANDOM", timestamp="1.2", name="eyes"))
    assert lost.response["error"] == "message_not_found"


async def test_ephemeral_and_permalink(sim: SlackEmulator, client: AsyncWebClient):
    sent = await client.chat_postEphemeral(channel="general", user="U0ALICE", text="only you")
    assert sim.ephemerals == [
        {"channel": "C0GENERAL", "user": "U0ALICE", "text": "only you", "blocks": None, "thread_ts": None,
         "ts": sent["message_ts"]}
    ]  # fmt: skip
    sim.add_user("dave")
    sim.add_channel("private-ops", private=True, members=["alice"])
    outsider = await api_error(client.chat_postEphemeral(channel="private-ops", user="dave", text="x"))
    assert outsider.response["error"] == "user_not_in_channel"
    posted = await client.chat_postMessage(channel="general", text="link me")
    link = await client.chat_getPermalink(channel="C0GENERAL", message_ts=posted["ts"])
    assert link["permalink"].endswith(f"/archives/C0GENERAL/p{posted['ts'].replace('.', '')}")


async def test_conversation_and_user_info(client: AsyncWebClient):
    secret = (await client.conversations_info(channel="G0SECRET"))["channel"]
    assert (secret["name"], secret["is_private"], secret["is_member"], secret["is_im"]) == (
        "secret",
        True,
        True,
        False,
    )
    alice = (await client.users_info(user="U0ALICE"))["user"]
    assert (alice["name"], alice["is_bot"], alice["profile"]["display_name"]) == ("alice", False, "alice")
    assert "image_48" in alice["profile"]
    bot = (await client.users_info(user="U0BOT"))["user"]
    assert bot["is_bot"] is True and bot["name"] == "chatops"
