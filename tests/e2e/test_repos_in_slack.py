"""Linked repos in Slack: linking, answers with SHA-pinned receipts, and choosing the right repo."""

from __future__ import annotations

import re

import pytest

from sim.github import GitHubEmulator
from sim.openai import Reply

from ..repos.conftest import API_FILES

TOKEN = "ghp_" + "e2e0" * 9
WEB_FILES = {"README.md": "# web\n", "site/pricing.html": "<h1>Start your free trial</h1>\n"}


@pytest.fixture
async def gh():
    async with GitHubEmulator() as emulator:
        emulator.add_token(TOKEN, login="chatops-bot")
        emulator.create_repo("acme", "api", files=API_FILES)
        emulator.create_repo("acme", "web", files=WEB_FILES)
        yield emulator


@pytest.fixture
def settings(settings, gh):
    return settings.replace(github_api_url=gh.api_url, github_token=TOKEN)


def link(chat, *names: str, channel: str = "C0GENERAL") -> None:
    for name in names:
        chat.store.link_repo(channel, name, f"{chat.app.core.settings.github_web_url}/{name}.git", None, "U0ALICE")


def last_tool_result(request: dict) -> str:
    return [m for m in request["messages"] if m["role"] == "tool"][-1]["content"]


def reads_then_cites(request: dict) -> Reply:
    """A model that searches, reads what it found, and answers citing the read_file receipt."""
    tools = [m for m in request["messages"] if m["role"] == "tool"]
    repo = re.search(r"This request is about `([^`]+)`", request["messages"][0]["content"]).group(1)
    if not tools:
        return Reply.tool_call("search_code", {"repo": repo, "pattern": "MAX_RETRIES ="})
    if len(tools) == 1:
        match = re.search(r"^([\w./-]+\.py):\d+:", tools[0]["content"], re.MULTILINE)
        path = match.group(1)
        return Reply.tool_call("read_file", {"repo": repo, "path": path, "start_line": 1, "end_line": 5})
    cite = re.search(r"cite as (\[[^\]]+\]\([^)]+\))", tools[-1]["content"]).group(1)
    return Reply.text(f"The retry limit is `MAX_RETRIES = 5`, set in {cite}.")


async def test_linking_checks_access_and_announces(chat, slack, gh):
    response = (await slack.slash("alice", "#general", "/chatops", "link repo acme/api")).response
    assert response["text"] == "Checking that I can read `acme/api`…"
    announced = await slack.wait_for(lambda: [r for r in slack.responses if "linked" in r["body"].get("text", "")])
    body = announced[0]["body"]
    assert body["response_type"] == "in_channel"
    assert body["text"].startswith(
        "<@U0ALICE> linked *acme/api* (branch `main`) to this channel; the channel's default")
    listed = (await slack.slash("bob", "#general", "/chatops", "links")).response["text"]
    assert "• `acme/api`" in listed

    await slack.slash("alice", "#general", "/chatops", "link repo acme/nope")
    refused = await slack.wait_for(lambda: [r for r in slack.responses if "can't find" in r["body"].get("text", "")])
    assert refused[0]["body"]["response_type"] == "ephemeral"
    assert "`acme/nope`" in refused[0]["body"]["text"]
    leaky = (await slack.slash("alice", "#general", "/chatops", f"link repo https://x:{TOKEN}@github.com/a/b"))
    await slack.wait_for(lambda: [r for r in slack.responses if "credentials" in r["body"].get("text", "")])
    assert leaky.statuses == [200]
    gone = (await slack.slash("alice", "#general", "/chatops", "unlink repo api")).response
    assert gone["text"] == "Unlinked *acme/api* from this channel." and gone["response_type"] == "in_channel"
    assert "No repos are linked" in (await slack.slash("bob", "#general", "/chatops", "links")).response["text"]


async def test_a_code_question_is_answered_with_a_sha_pinned_link(chat, slack, model, gh):
    link(chat, "acme/api")
    model.default = reads_then_cites
    asked = await chat.say("alice", "#general", "@chatops where is the retry limit for webhooks set?")
    assert await chat.finished(asked) == {"white_check_mark"}
    sha = gh.branch_sha("acme", "api", "main")
    permalink = f"{gh.url}/acme/api/blob/{sha}/src/webhooks/retry.py#L1-L5"
    answer = chat.answer(asked)
    assert f"[src/webhooks/retry.py:1-5]({permalink})" in answer
    assert answer.endswith(f"_Read `acme/api` at `{sha[:7]}` (main)._")
    system = model.requests[0]["messages"][0]["content"]
    assert f"pinned at commit {sha}" in system and "Run tests with `python3 -m pytest -q`" in system
    assert "Instructions from src/webhooks/AGENTS.md" in model.requests[1]["messages"][-1]["content"]
    assert [c["name"] for c in chat.store.tool_calls(chat.runs_for(asked)[0].id)] == ["search_code", "read_file"]
    assert chat.runs_for(asked)[0].repo == "acme/api"
    assert model.protocol_errors == []


async def test_the_repo_is_chosen_by_option_by_name_and_by_default(chat, slack, model, gh):
    link(chat, "acme/api", "acme/web")
    model.default = lambda request: Reply.text("ok")
    cases = [("@chatops repo=web what does the pricing page say?", "acme/web", "what does the pricing page say?"),
             ("@chatops in acme/web, what is on the pricing page?", "acme/web", None),
             ("@chatops how are webhooks retried?", "acme/api", None)]
    for text, expected, request_text in cases:
        asked = await chat.say("alice", "#general", text)
        await chat.finished(asked)
        assert chat.runs_for(asked)[0].repo == expected, text
        system, user = model.requests[-1]["messages"][0]["content"], model.requests[-1]["messages"][-1]["content"]
        assert f"This request is about `{expected}`" in system
        if request_text:
            assert user.endswith(request_text) and "repo=" not in user


async def test_an_ambiguous_request_asks_with_a_dropdown_and_continues_after_the_pick(chat, slack, model, gh):
    link(chat, "acme/api", "acme/web")
    model.default = lambda request: Reply.text("Answered about the chosen repo.")
    asked = await chat.say("alice", "#general", "@chatops how do the api and web repos share config?")
    assert await chat.finished(asked) == {"grey_question"}
    question = chat.progress_message(asked)
    assert question["text"].startswith(":grey_question: Which repo do you mean?")
    select = question["blocks"][1]["elements"][0]
    assert select["type"] == "static_select" and [o["value"] for o in select["options"]] == ["acme/api", "acme/web"]
    assert model.requests == []
    await slack.click("alice", asked.channel, question["ts"], action_id="choose_repo", value="acme/web")
    await chat.finished(asked, count=2)
    runs = chat.runs_for(asked)
    assert [r.status for r in runs] == ["waiting", "done"] and runs[1].repo == "acme/web"
    assert "This request is about `acme/web`" in model.requests[0]["messages"][0]["content"]
    assert chat.answer(asked).startswith("Answered about the chosen repo.")
    follow_up = await chat.say("alice", "#general", "and where is its README?", thread_ts=asked.ts)
    await chat.finished(follow_up)
    assert chat.runs_for(follow_up)[0].repo == "acme/web"  # the thread keeps its repo


async def test_an_unknown_repo_option_says_what_is_linked(chat, slack, model, gh):
    link(chat, "acme/api")
    asked = await chat.say("alice", "#general", "@chatops repo=billing what is this?")
    assert await chat.finished(asked) == {"x"}
    assert "No repo `billing` is linked to this channel. Linked here: `acme/api`" in \
        chat.progress_message(asked)["text"]


async def test_the_agent_runs_commands_in_the_sandbox(chat, slack, model, gh):
    link(chat, "acme/api")
    model.script(Reply.tool_call("run_command",
                                 {"repo": "acme/api", "command": "grep -c RETRIES src/webhooks/retry.py"}),
                 lambda request: Reply.text(f"Ran it: {last_tool_result(request).splitlines()[-1]}"))
    asked = await chat.say("alice", "#general", "@chatops count the retry mentions")
    assert await chat.finished(asked) == {"white_check_mark"}
    assert chat.answer(asked).startswith("Ran it: 2")
    result = last_tool_result(model.requests[-1])
    assert result.startswith("$ grep -c RETRIES src/webhooks/retry.py\n[exit code 0]")
    await chat.app.wait_idle()
    run_id = chat.runs_for(asked)[0].id
    assert not list(chat.app.core.workspaces.root.glob(f"{run_id}-*"))  # the run's worktree is gone
