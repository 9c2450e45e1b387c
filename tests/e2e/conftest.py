"""End-to-end fixtures: the real bot wired to the Slack and model emulators over the wire.

Tests read like a transcript:

    thread = await chat.say("alice", "#general", "@chatops what is 2+2?")
    await chat.finished(thread)
    assert chat.answer(thread) == "Four."
"""

from __future__ import annotations

import pytest

from bot.app import Deps, build_app
from bot.settings import Settings
from bot.store.sqlite import Store
from sim.slack import SlackEmulator

BOT_TOKEN = "xoxb-sim-bot-token-0001"
APP_TOKEN = "xapp-sim-app-token-0001"
SIGNING_SECRET = "sim-signing-secret-0001"
OUTCOME_REACTIONS = {"white_check_mark", "x", "no_entry_sign", "grey_question"}


@pytest.fixture
async def slack():
    emulator = SlackEmulator(bot_token=BOT_TOKEN, app_token=APP_TOKEN, signing_secret=SIGNING_SECRET)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
def settings(tmp_path, slack, model) -> Settings:
    return Settings(
        home=tmp_path / "home",
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        openai_base_url=model.base_url,
        openai_api_key="sk-sim-model-key",
        model="sim-model",
        model_retries=0,
        model_timeout=10,
        progress_interval=0.05,
    )


class Chat:
    """A running bot plus the workspace, with transcript-style helpers."""

    def __init__(self, slack: SlackEmulator, app) -> None:
        self.slack = slack
        self.app = app

    @property
    def store(self) -> Store:
        return self.app.core.store

    async def say(self, user: str, channel: str, text: str, thread_ts: str | None = None):
        return await self.slack.user_says(user, channel, text.replace("@chatops", "<@U0BOT>"), thread_ts=thread_ts)

    async def finished(self, message, count: int = 1):
        """Wait until the bot has put an outcome reaction on the message (and `count` runs finished)."""
        def done():
            reacted = self.slack.reactions(message.channel, message.ts) & OUTCOME_REACTIONS
            runs = [r for r in self.store.runs(["done", "failed", "cancelled", "interrupted", "waiting"])
                    if r.message_ts == message.ts]
            return reacted and len(runs) >= count
        await self.slack.wait_for(done, timeout=15)
        return self.slack.reactions(message.channel, message.ts) & OUTCOME_REACTIONS

    def bot_messages(self, message) -> list[dict]:
        return self.slack.bot_replies(message.channel, message.thread_ts or message.ts)

    def answer(self, message) -> str:
        """The answer text: the bot's messages in the thread other than progress/outcome messages."""
        parts = []
        for posted in self.bot_messages(message):
            markdown = [b["text"] for b in posted.get("blocks") or [] if b.get("type") == "markdown"]
            if markdown:
                parts.extend(markdown)
        return "\n\n".join(parts)

    def progress_message(self, message) -> dict:
        run = self.runs_for(message)[-1]
        return self.slack.message(message.channel, run.progress_ts)

    def runs_for(self, message) -> list:
        statuses = ["queued", "running", "done", "failed", "cancelled", "interrupted", "waiting"]
        return [r for r in self.store.runs(statuses) if r.message_ts == message.ts]


@pytest.fixture
async def start_bot(slack, settings):
    """start_bot(mode="http"|"socket", settings=None, **deps) -> Chat with the bot running."""
    apps = []

    async def start(mode: str = "http", settings_: Settings | None = None, **deps) -> Chat:
        chosen = settings_ or settings
        if mode == "socket":
            chosen = chosen.replace(slack_app_token=APP_TOKEN)
        app = build_app(chosen, Deps(**deps))
        apps.append(app)
        await app.start()
        if mode == "socket":
            await app.serve_socket_mode()
            await slack.wait_socket_connected()
            slack.deliver_http_to(None)
        else:
            port = await app.serve_http("127.0.0.1", 0)
            slack.deliver_http_to(f"http://127.0.0.1:{port}/slack/events")
        return Chat(slack, app)

    yield start
    for app in apps:
        await app.stop()


@pytest.fixture
async def chat(start_bot) -> Chat:
    return await start_bot()
