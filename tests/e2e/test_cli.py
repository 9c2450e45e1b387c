"""The production entry points: `chatops run` as a real process, and `chatops doctor`."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from bot.cli.doctor import Doctor
from sim.openai import Reply

from .conftest import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATOPS_", "SLACK_"))}
    env.update(extra)
    return env


async def test_chatops_run_serves_socket_mode_and_shuts_down_cleanly(tmp_path, slack, model):
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=slack.api_url,
                    OPENAI_BASE_URL=model.base_url, OPENAI_API_KEY="sk-sim-model-key", CHATOPS_MODEL="sim-model",
                    CHATOPS_HOME=str(tmp_path))
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", env=env,
                                                   stderr=asyncio.subprocess.PIPE)
    try:
        await slack.wait_socket_connected(timeout=20)
        model.script(Reply.text("Answered by the real process."))
        asked = await slack.user_says("alice", "#general", "<@U0BOT> are you up?")
        await slack.wait_for(lambda: "white_check_mark" in slack.reactions(asked.channel, asked.ts))
        replies = slack.bot_replies(asked.channel, asked.ts)
        assert any("Answered by the real process." in str(m.get("blocks")) for m in replies)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 0, stderr.decode()
    log = stderr.decode()
    assert "ready as @chatops" in log and "shutting down" in log
    assert BOT_TOKEN not in log and APP_TOKEN not in log


async def test_chatops_run_refuses_to_start_with_every_problem_listed(tmp_path):
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=clean_env(CHATOPS_HOME=str(tmp_path), CHATOPS_MAX_STEPS="x"),
        stderr=asyncio.subprocess.PIPE)
    _, stderr = await process.communicate()
    assert process.returncode == 2
    text = stderr.decode()
    assert "SLACK_BOT_TOKEN is missing" in text and "CHATOPS_MAX_STEPS" in text and "chatops doctor" in text


async def test_doctor_passes_when_everything_is_reachable(tmp_path, slack, model):
    lines: list[str] = []
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=slack.api_url,
                    OPENAI_BASE_URL=model.base_url, OPENAI_API_KEY="sk-sim-model-key", CHATOPS_MODEL="sim-model",
                    CHATOPS_HOME=str(tmp_path))
    model.script(Reply.text("OK"))
    code = await Doctor(env, lines.append).run()
    text = "\n".join(lines)
    assert code == 0, text
    assert "✓ SLACK_BOT_TOKEN: works: @chatops" in text and "✓ SLACK_APP_TOKEN" in text
    assert "✓ model: `sim-model` answered" in text and "✓ sandbox: bubblewrap works" in text


async def test_doctor_says_exactly_what_is_wrong(tmp_path, slack, model):
    lines: list[str] = []
    env = clean_env(SLACK_BOT_TOKEN="xoxb-wrong-token", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                    SLACK_API_URL=slack.api_url, OPENAI_BASE_URL=model.base_url, OPENAI_API_KEY="sk-sim-model-key",
                    CHATOPS_MODEL="gpt-unknown", CHATOPS_HOME=str(tmp_path))
    code = await Doctor(env, lines.append).run()
    text = "\n".join(lines)
    assert code == 1
    assert "✗ SLACK_BOT_TOKEN: rejected by Slack (invalid_auth)" in text
    assert "✗ CHATOPS_MODEL: `gpt-unknown` is not served by the endpoint; it has: sim-model" in text
    assert "2 problems found." in text


async def test_chatops_run_with_an_unusable_home_exits_with_one_plain_sentence(tmp_path):
    (tmp_path / "a-file").write_text("not a folder\n")
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                    CHATOPS_HOME=str(tmp_path / "a-file" / "home"))
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", "--port", "0", env=env,
                                                   stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    text = stderr.decode()
    assert process.returncode == 1, text
    assert text.strip().splitlines()[-1] == (
        f"chatops cannot start: I can't use my database at {tmp_path}/a-file/home/chatops.db: it cannot be opened "
        "(NotADirectoryError). Point CHATOPS_HOME at a writable folder with free space (`chatops doctor` checks it).")
    assert "Traceback" not in text
