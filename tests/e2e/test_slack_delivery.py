"""What the bot posts survives Slack's limits and faults: rate limits, dropped connections, refused
blocks, streaming or not, very long answers, assistant threads, and secrets."""

from __future__ import annotations

import asyncio

from bot.slack.answer import PIECE_LIMIT
from bot.slack.client import make_web_client
from sim.openai import Reply

from .conftest import BOT_TOKEN


async def test_rate_limits_are_honoured_with_the_retry_after_delay(start_bot, slack, model):
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)

    chat = await start_bot(web_client=make_web_client(BOT_TOKEN, slack.api_url, sleep=fake_sleep))
    slack.fail("chat.postMessage", error="ratelimited", status=429, retry_after=7, times=2)
    model.script(Reply.text("After the rate limit."))
    asked = await chat.say("alice", "#general", "@chatops hi")
    assert await chat.finished(asked) == {"white_check_mark"}
    assert len(waits) == 2 and all(7 <= w <= 8 for w in waits)  # Retry-After plus up to 1 s of jitter
    assert chat.answer(asked) == "After the rate limit."


async def test_a_dropped_connection_after_slack_accepted_a_post_does_not_post_twice(chat, slack, model):
    slack.fail("chat.postMessage", drop_after_accept=True, times=1)  # the progress message
    model.script(Reply.text("Exactly one of everything."))
    asked = await chat.say("alice", "#general", "@chatops hi")
    assert await chat.finished(asked) == {"white_check_mark"}
    posts = [c for c in slack.calls_to("chat.postMessage")]
    assert posts[0].dropped and len(chat.bot_messages(asked)) == 2  # progress + answer, no duplicate
    assert chat.progress_message(asked)["text"].startswith(":white_check_mark: Answered")


async def test_answers_are_posted_when_slack_streaming_is_unavailable(chat, slack, model):
    slack.streaming_enabled = False
    model.script(Reply.text("A plain posted answer with **bold**."))
    asked = await chat.say("alice", "#general", "@chatops hi")
    assert await chat.finished(asked) == {"white_check_mark"}
    assert chat.answer(asked) == "A plain posted answer with **bold**."
    answer = chat.bot_messages(asked)[-1]
    assert answer["text"] == "A plain posted answer with *bold*."  # the mrkdwn fallback text


async def test_streaming_carries_a_long_streamed_answer(chat, slack, model):
    text = " ".join(f"word{i}" for i in range(400))
    model.script(Reply.text(text))
    asked = await chat.say("alice", "#general", "@chatops long")
    await chat.finished(asked)
    assert slack.calls_to("chat.startStream") and slack.calls_to("chat.appendStream")
    assert chat.answer(asked).split() == text.split()


async def test_markdown_blocks_refused_fall_back_to_mrkdwn_sections(chat, slack, model):
    slack.streaming_enabled = False
    slack.fail("chat.postMessage", error="invalid_blocks", times=None,
               when=lambda args: '"markdown"' in str(args.get("blocks")) or "'markdown'" in str(args.get("blocks")))
    model.script(Reply.text("# Title\n\nSome **bold** text."))
    asked = await chat.say("alice", "#general", "@chatops hi")
    assert await chat.finished(asked) == {"white_check_mark"}
    answer = chat.bot_messages(asked)[-1]
    assert [b["type"] for b in answer["blocks"]] == ["section"]
    assert answer["blocks"][0]["text"]["text"] == "*Title*\n\nSome *bold* text."


async def test_long_answers_are_split_within_limits_and_very_long_ones_become_a_file(chat, slack, model):
    slack.streaming_enabled = False
    paragraph = "This is a sentence that makes the answer long. " * 20
    long_text = "\n\n".join(f"{i}. {paragraph}" for i in range(30))  # ~30k characters: three messages
    model.script(Reply.text(long_text))
    asked = await chat.say("alice", "#general", "@chatops long")
    await chat.finished(asked)
    answers = chat.bot_messages(asked)[1:]
    assert len(answers) == 3
    assert all(len(b["text"]) <= PIECE_LIMIT for m in answers for b in m["blocks"])
    assert chat.answer(asked).split() == long_text.split()

    huge = "\n\n".join(f"{i}. {paragraph}" for i in range(100))  # ~100k characters
    model.script(Reply.text(huge))
    asked = await chat.say("alice", "#general", "@chatops huge")
    await chat.finished(asked)
    uploaded = [f for f in slack.files.values() if f.get("thread_ts") == asked.ts]
    assert len(uploaded) == 1 and uploaded[0]["content"].decode() == huge.strip()
    assert "continued in the attached file" in chat.answer(asked)


async def test_secrets_in_an_answer_are_redacted_everywhere_they_are_posted(chat, slack, model):
    model.script(Reply.text(f"The token is {BOT_TOKEN} and a key sk-live-abcdefghijklmnopqrstuvwx ok."))
    asked = await chat.say("alice", "#general", "@chatops leak it")
    await chat.finished(asked)
    everything = str([c.args for c in slack.calls])
    assert BOT_TOKEN not in everything.replace(f"Bearer {BOT_TOKEN}", "")
    assert "sk-live-abcdefghijklmnopqrstuvwx" not in everything
    assert "[redacted]" in chat.answer(asked)


async def test_assistant_threads_use_the_status_line_and_survive_its_failure(chat, slack, model):
    thread_ts = await slack.start_assistant_thread("alice")
    dm = slack.dm_channel("alice")
    await slack.wait_for(lambda: slack.bot_replies(dm, thread_ts))
    model.script(Reply.text("Answer in the assistant thread."))
    asked = await chat.say("alice", dm, "what is up?", thread_ts=thread_ts)
    await chat.finished(asked)
    assert any(s.get("status") for s in slack.statuses)
    assert chat.answer(asked) == "Answer in the assistant thread."
    assert not any("Working on it" in (m.get("text") or "") for m in chat.bot_messages(asked))

    slack.fail("assistant.threads.setStatus", error="not_allowed", times=None)
    model.script(Reply.text("Still answered."))
    again = await chat.say("alice", dm, "and now?", thread_ts=thread_ts)
    assert await chat.finished(again) == {"white_check_mark"}
    assert "Still answered." in chat.answer(again)


async def test_slack_5xx_on_posts_and_edits_is_retried_and_nothing_is_posted_twice(chat, slack, model):
    slack.streaming_enabled = False
    slack.fail("chat.postMessage", error="internal_error", status=500, times=1)  # the progress message
    slack.fail("chat.postMessage", error="service_unavailable", status=503, times=1,
               when=lambda args: "Twice" in str(args.get("text")))  # the answer, refused once
    slack.fail("chat.update", error="internal_error", status=502, times=2)
    model.script(Reply.text("Twice refused, once posted."))
    asked = await chat.say("alice", "#general", "@chatops hi")
    assert await chat.finished(asked) == {"white_check_mark"}
    assert chat.answer(asked) == "Twice refused, once posted."
    assert len(chat.bot_messages(asked)) == 2  # progress + answer, no duplicate
    assert chat.progress_message(asked)["text"].startswith(":white_check_mark: Answered")
