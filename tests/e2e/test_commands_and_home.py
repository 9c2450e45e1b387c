"""/chatops help and status, and the App Home tab."""

from __future__ import annotations

from sim.openai import Reply


async def test_help(chat, slack):
    response = (await slack.slash("alice", "#general", "/chatops", "help")).response
    assert "Follow up" in response["text"] and "/chatops status" in response["text"]
    assert (await slack.slash("alice", "#general", "/chatops", "")).response["text"] == response["text"]


async def test_unknown_subcommand_explains(chat, slack):
    response = (await slack.slash("alice", "#general", "/chatops", "frobnicate now")).response
    assert response["text"].startswith("I don't know `/chatops frobnicate`.")


async def test_status_lists_runs_in_progress_in_this_channel(chat, slack, model):
    assert (await slack.slash("alice", "#general", "/chatops", "status")).response["text"] == \
        "Nothing is running in this channel."
    model.script(Reply.text("slow", delay=30))
    asked = await chat.say("alice", "#general", "@chatops a slow question about retries")
    await model.wait_for_requests(1)
    text = (await slack.slash("bob", "#general", "/chatops", "status")).response["text"]
    run = chat.runs_for(asked)[0]
    assert "1 request in progress" in text and f"`{run.id}` running" in text and "a slow question" in text
    assert (await slack.slash("bob", "#random", "/chatops", "status")).response["text"] == \
        "Nothing is running in this channel."


async def test_app_home_shows_help_and_recent_requests(chat, slack, model):
    model.script(Reply.text("hi"))
    asked = await chat.say("alice", "#general", "@chatops remember me")
    await chat.finished(asked)
    await slack.open_app_home("alice")
    view = await slack.wait_for(lambda: slack.views.get("U0ALICE"))
    text = str(view)
    assert view["type"] == "home" and "remember me" in text and "white_check_mark" in text
