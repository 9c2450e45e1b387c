"""Nothing fails silently and nothing happens twice: retries, redeliveries, clicks, crashes, errors."""

from __future__ import annotations

import asyncio

from sim.openai import Reply

from .conftest import OUTCOME_REACTIONS


def mention_event(message, text="<@U0BOT> hello", user="U0ALICE") -> dict:
    return {"type": "app_mention", "user": user, "text": text, "ts": message.ts, "channel": message.channel,
            "event_ts": message.ts, "team": "T0SIM"}


async def stored_only(chat, slack, text):
    """A message in the workspace whose events we deliver by hand."""
    slack.deliveries_enabled = False
    try:
        return await chat.say("alice", "#general", text)
    finally:
        slack.deliveries_enabled = True


async def test_the_same_event_four_times_at_once_gives_one_run_and_one_answer(chat, slack, model):
    model.default = Reply.text("Only once.", delay=0.2)
    message = await stored_only(chat, slack, "@chatops hello")
    delivered = await slack.deliver(slack.event_callback(mention_event(message)), retries=3, concurrently=True)
    assert delivered.statuses == [200, 200, 200, 200]
    await chat.finished(message)
    await asyncio.sleep(0.3)  # let any (wrong) second run get going before counting
    assert len(chat.runs_for(message)) == 1 and len(model.requests) == 1
    assert chat.answer(message) == "Only once."


async def test_app_mention_and_message_events_for_one_message_give_one_run(chat, slack, model):
    model.script(Reply.text("One answer."))
    asked = await chat.say("alice", "#general", "@chatops hi")  # Slack sends both events for this message
    assert len(asked.event_ids) == 2
    await chat.finished(asked)
    assert len(chat.runs_for(asked)) == 1


async def test_dedupe_survives_a_restart(start_bot, slack, model):
    model.default = Reply.text("First life.")
    first = await start_bot()
    message = await stored_only(first, slack, "@chatops hello")
    body = slack.event_callback(mention_event(message))
    await slack.deliver(body)
    await first.finished(message)
    await first.app.stop()
    second = await start_bot()
    await slack.deliver(body, retries=2)
    await asyncio.sleep(0.2)
    assert len(second.runs_for(message)) == 1 and len(model.requests) == 1


async def test_socket_mode_redeliveries_and_reconnects_do_not_repeat_work(start_bot, slack, model):
    chat = await start_bot("socket")
    model.default = Reply.text("Socket answer.")
    message = await stored_only(chat, slack, "@chatops hello")
    body = slack.event_callback(mention_event(message))
    await slack.deliver(body, retries=3)
    await chat.finished(message)
    await slack.socket_disconnect("refresh_requested")
    await slack.wait_for(lambda: slack.sockets.connections_opened >= 2)
    await slack.wait_socket_connected()
    await slack.deliver(body, retries=1)
    after = await chat.say("bob", "#general", "@chatops still there?")
    await chat.finished(after)
    assert len(chat.runs_for(message)) == 1 and len(model.requests) == 2


async def test_cancel_button_stops_the_run(chat, slack, model):
    model.script(Reply.text("too late", delay=30))
    asked = await chat.say("alice", "#general", "@chatops slow question")
    await model.wait_for_requests(1)
    progress_ts = chat.runs_for(asked)[0].progress_ts
    refused = await slack.click("bob", asked.channel, progress_ts, action_id="cancel_run")
    assert refused.statuses == [200]
    await slack.wait_for(lambda: slack.ephemerals)
    assert "Only <@U0ALICE>" in slack.ephemerals[-1]["text"]
    await slack.click("alice", asked.channel, progress_ts, action_id="cancel_run")
    assert await chat.finished(asked) == {"no_entry_sign"}
    assert chat.runs_for(asked)[0].status == "cancelled"
    assert slack.message(asked.channel, progress_ts)["text"] == ":no_entry_sign: Cancelled by <@U0ALICE>."


async def test_replying_stop_in_the_thread_cancels(chat, slack, model):
    model.script(Reply.text("done", delay=30))
    asked = await chat.say("alice", "#general", "@chatops slow question")
    await model.wait_for_requests(1)
    await chat.say("alice", "#general", "stop", thread_ts=asked.ts)
    assert await chat.finished(asked) == {"no_entry_sign"}


async def test_model_failure_offers_retry_and_a_double_click_retries_once(chat, slack, model):
    model.script(Reply.error(500), Reply.text("Worked the second time."))
    asked = await chat.say("alice", "#general", "@chatops flaky?")
    assert await chat.finished(asked) == {"x"}
    progress = chat.progress_message(asked)
    assert progress["text"] == ":x: The model endpoint failed (HTTP 500)."
    assert "Traceback" not in str(progress) and "InternalServerError" not in str(progress)
    await asyncio.gather(
        slack.click("alice", asked.channel, progress["ts"], action_id="retry_run"),
        slack.click("alice", asked.channel, progress["ts"], action_id="retry_run"),
    )
    await chat.finished(asked, count=2)
    runs = chat.runs_for(asked)
    assert [r.status for r in runs] == ["failed", "done"] and runs[1].retry_of == runs[0].id
    assert chat.answer(asked) == "Worked the second time."
    assert slack.reactions(asked.channel, asked.ts) & OUTCOME_REACTIONS == {"white_check_mark"}


async def test_unreachable_model_says_so_with_retry(start_bot, settings, slack):
    chat = await start_bot(settings_=settings.replace(openai_base_url="http://127.0.0.1:9/v1"))
    asked = await chat.say("alice", "#general", "@chatops hello")
    assert await chat.finished(asked) == {"x"}
    progress = chat.progress_message(asked)
    assert progress["text"] == ":x: Could not reach the model endpoint at `127.0.0.1:9`."
    assert any(e.get("action_id") == "retry_run" for b in progress["blocks"] if b["type"] == "actions"
               for e in b["elements"])


async def test_a_run_over_its_wall_time_gets_a_timeout_notice(start_bot, settings, model):
    chat = await start_bot(settings_=settings.replace(max_run_seconds=1))
    model.script(Reply.text("never", delay=30))
    asked = await chat.say("alice", "#general", "@chatops slow")
    assert await chat.finished(asked) == {"x"}
    assert chat.progress_message(asked)["text"].startswith(":hourglass: This took longer than 1 s, so I stopped.")
    assert chat.runs_for(asked)[0].error_kind == "timeout"


async def test_a_bug_is_logged_with_the_run_id_and_the_user_gets_an_apology(start_bot, settings, model, caplog):
    from skills.base import Skill

    async def broken(ctx) -> str:
        """Always fails with a bug."""
        raise ZeroDivisionError("secret internals xoxb-1234567890-leak")

    chat = await start_bot(skills=[Skill.of(broken)])
    model.script(Reply.tool_call("broken"))
    asked = await chat.say("alice", "#general", "@chatops break")
    assert await chat.finished(asked) == {"x"}
    run = chat.runs_for(asked)[0]
    text = chat.progress_message(asked)["text"]
    assert text == f":x: Sorry, something went wrong on my side. It is logged under run `{run.id}`."
    assert run.error_kind == "bug" and "ZeroDivisionError" in run.error and "xoxb-1234567890" not in run.error
    assert any(run.id in r.getMessage() and r.exc_info for r in caplog.records)


async def test_graceful_restart_interrupts_running_runs_and_tells_the_thread(start_bot, settings, slack, model):
    from bot.store.sqlite import Store

    chat = await start_bot()
    model.script(Reply.hang())
    asked = await chat.say("alice", "#general", "@chatops long job")
    await model.wait_for_requests(1)
    await chat.app.stop()
    store = Store.open(settings.db_path)
    assert [r.status for r in store.runs(["interrupted"])] == ["interrupted"]
    store.close()
    chat = await start_bot()
    assert chat.progress_message(asked)["text"] == ":warning: I was restarted while working on this, so it stopped."
    assert slack.reactions(asked.channel, asked.ts) & OUTCOME_REACTIONS == {"x"}


async def test_after_a_crash_running_runs_are_reported_and_queued_ones_start(start_bot, settings, slack, model):
    from bot.store.sqlite import Store

    # The state a crashed process leaves behind: one run mid-way (with its progress message), one queued.
    slack.deliveries_enabled = False
    crashed = await slack.user_says("alice", "#general", "<@U0BOT> was running")
    queued = await slack.user_says("bob", "#general", "<@U0BOT> was queued")
    slack.deliveries_enabled = True
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=settings.slack_bot_token, base_url=slack.api_url)
    progress = await client.chat_postMessage(channel=crashed.channel, thread_ts=crashed.ts, text="Working on it…")
    store = Store.open(settings.db_path)
    store.create_run(channel=crashed.channel, thread_ts=crashed.ts, message_ts=crashed.ts, user="U0ALICE",
                     text="was running", status="running", progress_ts=progress["ts"])
    store.create_run(channel=queued.channel, thread_ts=queued.ts, message_ts=queued.ts, user="U0BOB",
                     text="was queued")
    store.close()
    await client.session.close() if client.session else None

    model.script(Reply.text("Picked up after the restart."))
    chat = await start_bot()
    assert await chat.finished(queued) == {"white_check_mark"}
    assert chat.answer(queued) == "Picked up after the restart."
    assert await chat.finished(crashed) == {"x"}
    notice = slack.message(crashed.channel, progress["ts"])
    assert notice["text"] == ":warning: I was restarted while working on this, so it stopped."
    model.script(Reply.text("Done on retry."))
    await slack.click("alice", crashed.channel, progress["ts"], action_id="retry_run")
    await chat.finished(crashed, count=2)
    assert chat.answer(crashed) == "Done on retry."
