"""`chatops dev`: the bot in a local Slack workspace, and a chat with it in this terminal.

The Slack emulator plays Slack; the real bot connects to it over Socket Mode exactly as it
would to Slack. With a model configured (CHATOPS_MODEL, OPENAI_BASE_URL...) it answers for real;
without one it says what to set. When stdin is not a terminal, each line waits for the bot to
finish before the next, so a piped script gives a stable transcript.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import shutil
import sys
from typing import Any, TextIO

from bot.app import build_app
from bot.config import parse_data, parse_metrics
from bot.settings import Settings
from bot.store.records import ACTIVE
from sim.data import SAMPLE_METRICS, plant_release, seed_signups
from sim.github import GitHubEmulator
from sim.github.sample import create_sample_repo
from sim.slack import SlackEmulator

BANNER = """\
chatops dev: a local Slack workspace and GitHub with the bot in it (no accounts or internet needed).
You are @{user} in #general, which is linked to the sample repo {repo}. Model: {model}
  @chatops <question>   ask in a new thread        > <text>   reply in the current thread
  /chatops help         slash commands             :open :discard :retry :cancel :text :all   click a button
  :quit                 leave (Ctrl-D works too)
Try: @chatops where is the pricing page's call to action?
 or: @chatops change "Start your free trial" to "Try it free for 14 days"   (then :open)
 or: @chatops why did signups drop?   ({data})
"""
BUTTONS = {":retry": "retry_run", ":cancel": "cancel_run", ":open": "open_pr", ":discard": "discard_change",
           ":text": "copy_choice_text", ":all": "copy_choice_all", ":neither": "copy_choice_none"}
DEV_GITHUB_TOKEN = "ghp_devLocalSampleToken00000000000000000"


class Transcript:
    """Prints what the bot does in the emulated workspace, as it happens."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.streaming = False

    def on_change(self, kind: str, data: Any) -> None:
        if kind != "call" or not data.ok:
            return
        method, args = data.method, data.args
        if method == "reactions.add":
            self._line(f"chatops reacted :{args.get('name')}:")
        elif method == "chat.postMessage":
            self._line(f"chatops: {_shown(args)}")
        elif method == "chat.update":
            self._line(f"chatops (updated its message): {_shown(args)}")
        elif method == "chat.postEphemeral":
            self._line(f"chatops (only you see this): {args.get('text', '')}")
        elif method == "files.completeUploadExternal":
            files = _json(args.get("files")) or []
            self._line(f"chatops uploaded {', '.join(f.get('title') or f.get('id', 'a file') for f in files)}")
        elif method == "assistant.threads.setStatus" and args.get("status"):
            self._line(f"chatops {args['status']}")
        elif method in ("chat.startStream", "chat.appendStream", "chat.stopStream"):
            self._stream(method, args)

    def _stream(self, method: str, args: dict[str, Any]) -> None:
        text = args.get("markdown_text") or "".join(
            c.get("text", "") for c in (_json(args.get("chunks")) or []) if c.get("type") == "markdown_text")
        if not self.streaming:
            self.out.write("  chatops (streaming): ")
            self.streaming = True
        self.out.write(text.replace("\n", "\n    "))
        if method == "chat.stopStream":
            self.out.write("\n")
            self.streaming = False
        self.out.flush()

    def _line(self, text: str) -> None:
        if self.streaming:
            self.out.write("\n")
            self.streaming = False
        self.out.write("  " + text.replace("\n", "\n    ") + "\n")
        self.out.flush()


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return value


def _shown(args: dict[str, Any]) -> str:
    blocks = _json(args.get("blocks")) or []
    markdown = [b.get("text", "") for b in blocks if b.get("type") == "markdown"]
    return "\n".join(markdown) if markdown else args.get("text", "")


async def run_dev(settings: Settings, *, user: str = "you", stdin: TextIO | None = None,
                  out: TextIO | None = None) -> None:
    stdin, out = stdin or sys.stdin, out or sys.stdout
    slack = SlackEmulator(bot_token="xoxb-dev-bot-token", app_token="xapp-dev-app-token",
                          signing_secret="dev-signing-secret")
    await slack.start()
    github = GitHubEmulator()
    github.add_token(DEV_GITHUB_TOKEN, login="chatops-bot")
    sample = create_sample_repo(github)
    await github.start()
    home = settings.home / "dev"
    shutil.rmtree(home, ignore_errors=True)  # every dev session starts with a fresh workspace and database
    dev_settings = settings.replace(home=home, slack_bot_token=slack.identity.bot_token,
                                    slack_app_token=slack.identity.app_token, slack_api_url=slack.api_url,
                                    github_api_url=github.api_url, github_token=DEV_GITHUB_TOKEN)
    dev_settings, data_note = _sample_data(dev_settings, github, sample.full_name)
    app = build_app(dev_settings)
    app.core.store.link_repo("C0GENERAL", sample.full_name, sample.clone_url, None, "dev")
    try:
        await app.start()
        await app.serve_socket_mode()
        await slack.wait_socket_connected()
        if user not in {u.name for u in slack.workspace.users.values()}:
            slack.add_user(user)
        model = f"`{settings.model}` at {settings.openai_base_url or 'api.openai.com'}" if settings.model_configured \
            else "none configured (the bot will say what to set)"
        out.write(BANNER.format(user=user, model=model, repo=sample.full_name, data=data_note))
        out.flush()
        slack.listeners.append(Transcript(out).on_change)
        await _chat(slack, app, user, stdin, out, interactive=stdin.isatty())
    finally:
        await app.stop()
        await slack.stop()
        await github.stop()


def _sample_data(settings: Settings, github: GitHubEmulator, repo: str) -> tuple[Settings, str]:
    """Unless chatops.yml links data, #general gets a seeded SQLite dataset, its metrics, and a release
    in the sample repo around the (planted) drop, so `why did signups drop?` has something to find."""
    if settings.default_channel.data or any(c.data for c in settings.channels.values()):
        return settings, "data sources from your chatops.yml"
    path = settings.home / "data" / "app.db"
    planted = seed_signups(path, today=dt.datetime.now(dt.UTC).date())
    owner, name = repo.split("/")
    plant_release(github, owner, name, planted)
    problems: list[str] = []
    links = parse_data({"app": str(path)}, path.parent, "dev data", problems)
    metrics = parse_metrics(SAMPLE_METRICS, links, "dev metrics", problems)
    assert not problems, problems
    defaults = dataclasses.replace(settings.default_channel, data=links, metrics=metrics)
    return settings.replace(default_channel=defaults), "sample data: signups, conversion"


async def _chat(slack: SlackEmulator, app, user: str, stdin: TextIO, out: TextIO, *, interactive: bool) -> None:
    loop = asyncio.get_running_loop()
    thread: str | None = None
    while True:
        if interactive:
            out.write(f"{user}> ")
            out.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if not line or line.strip() in (":quit", ":q"):
            break
        text = line.strip()
        if not text:
            continue
        if not interactive:
            out.write(f"{user}: {text}\n")
        runs_before = app.core.store.count_runs()
        try:
            thread = await _act(slack, user, text, thread, out)
        except LookupError as exc:
            out.write(f"  (nothing to do: {exc})\n")
            continue
        if not interactive:  # let the bot finish, so a piped script reads like a conversation
            expects_run = text.startswith((">", ":retry", ":text", ":all", ":neither")) or "@chatops" in text
            await _settle(slack, app, runs_before if expects_run else None)
            await app.core.approvals.wait()
    await _settle(slack, app, None)


async def _settle(slack: SlackEmulator, app, runs_before: int | None) -> None:
    store = app.core.store

    if runs_before is not None:
        try:
            await slack.wait_for(lambda: store.count_runs() > runs_before, timeout=10)
        except AssertionError:
            pass  # the bot did not take this message; nothing to wait for
    await slack.wait_for(lambda: not store.runs(ACTIVE), timeout=app.core.settings.max_run_seconds + 30)
    await app.wait_idle()


async def _act(slack: SlackEmulator, user: str, text: str, thread: str | None, out: TextIO) -> str | None:
    mention = text.replace("@chatops", f"<@{slack.identity.bot_user_id}>")
    if text.startswith("/"):
        command, _, rest = text.partition(" ")
        response = (await slack.slash(user, "general", command, rest)).response or {}
        out.write("  chatops (only you see this): " + str(response.get("text", "")).replace("\n", "\n    ") + "\n")
        return thread
    if text in BUTTONS:
        action = BUTTONS[text]
        for message in reversed(slack.bot_replies("general", thread) if thread else []):
            if f'"{action}"' in json.dumps(message.get("blocks") or []):
                await slack.click(user, "general", message["ts"], action_id=action)
                return thread
        raise LookupError(f"no {text[1:]} button in the current thread")
    if text.startswith(">"):
        if thread is None:
            raise LookupError("no thread yet; start one with @chatops <question>")
        await slack.user_says(user, "general", mention[1:].strip(), thread_ts=thread)
        return thread
    delivered = await slack.user_says(user, "general", mention)
    return delivered.ts if "@chatops" in text else thread
