"""`chatops dev`: a newcomer's first run, a chat with the bot in the terminal, with and without a model."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from bot.cli.dev import run_dev
from bot.settings import Settings
from sim.openai import Reply


async def test_a_piped_dev_session_reads_like_a_conversation(tmp_path, model):
    model.script(Reply.text("Hi! I'm **chatops**."), Reply.error(500), Reply.text("Better now."))
    settings = Settings(home=tmp_path, openai_base_url=model.base_url, openai_api_key="sk-sim-model-key",
                        model="sim-model", model_retries=0)
    out = io.StringIO()
    script = "@chatops hello\n> and again\n:retry\n/chatops status\n:cancel\n"
    await run_dev(settings, stdin=io.StringIO(script), out=out)
    transcript = out.getvalue()
    assert "You are @you in #general, which is linked to the sample repo acme/website. Model: `sim-model`" in transcript
    assert "This request is about `acme/website`" in model.requests[0]["messages"][0]["content"]
    assert "you: @chatops hello\n  chatops reacted :eyes:" in transcript
    assert "Hi! I'm **chatops**." in transcript
    assert ":x: The model endpoint failed (HTTP 500)." in transcript
    assert "Better now." in transcript
    assert transcript.count("chatops reacted :white_check_mark:") == 2
    assert "Nothing is running in this channel." in transcript
    assert "(nothing to do: no cancel button in the current thread)" in transcript


async def test_dev_mode_answers_code_questions_from_the_sample_repo(tmp_path, model):
    def answer(request):
        tools = [m for m in request["messages"] if m["role"] == "tool"]
        if not tools:
            return Reply.tool_call("search_code", {"repo": "acme/website", "pattern": "Start your free trial"})
        return Reply.text("It is in " + tools[-1]["content"].splitlines()[-1].split(":")[0] + ".")

    model.default = answer
    settings = Settings(home=tmp_path, openai_base_url=model.base_url, openai_api_key="sk-sim-model-key",
                        model="sim-model", model_retries=0)
    out = io.StringIO()
    await run_dev(settings, stdin=io.StringIO("@chatops where is the free trial button?\n"), out=out)
    transcript = out.getvalue()
    assert "It is in " in transcript and ".html" in transcript
    assert "_Read `acme/website` at `" in transcript


def test_the_dev_command_works_without_a_model(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATOPS_", "SLACK_"))}
    env["CHATOPS_HOME"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-m", "bot", "dev"], input="@chatops hello\n", env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "no model is configured" in result.stdout and "chatops reacted :x:" in result.stdout


async def test_dev_mode_turns_a_copy_change_into_a_pr_on_the_emulated_github(tmp_path):
    settings = Settings(home=tmp_path)  # no model: the copy fast path needs none
    out = io.StringIO()
    script = '@chatops change "Start your free trial" to "Try it free for 14 days"\n:open\n'
    await run_dev(settings, stdin=io.StringIO(script), out=out)
    transcript = out.getvalue()
    assert "Proposed change to acme/website" in transcript
    assert ":rocket: Opened <http://127.0.0.1:" in transcript and "|PR #1>" in transcript
