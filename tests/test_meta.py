"""The app's declarations agree with its code: manifest <-> handlers, scopes <-> API calls, CLI help."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import yaml
from click.testing import CliRunner
from slack_sdk.web.async_client import AsyncWebClient

import handlers
from bot.cli.main import main
from skills import SKILLS

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())

# Web API method (as slack_sdk names it) -> the bot scope it needs.
METHOD_SCOPES = {
    "chat_postMessage": "chat:write", "chat_update": "chat:write", "chat_postEphemeral": "chat:write",
    "chat_stream": "chat:write", "reactions_add": "reactions:write", "reactions_remove": "reactions:write",
    "conversations_replies": {"channels:history", "groups:history", "im:history", "mpim:history"},
    "conversations_info": {"channels:read", "groups:read"}, "users_info": "users:read",
    "files_upload_v2": "files:write", "assistant_threads_setStatus": "assistant:write",
    "views_publish": None, "auth_test": None, "apps_connections_open": None, "chat_getPermalink": None,
}
EVENT_SCOPES = {"app_mention": "app_mentions:read", "message.channels": "channels:history",
                "message.groups": "groups:history", "message.im": "im:history", "message.mpim": "mpim:history",
                "app_home_opened": None, "assistant_thread_started": "assistant:write"}


def test_every_declared_event_has_a_handler_and_vice_versa():
    declared = {e.split(".")[0] for e in MANIFEST["settings"]["event_subscriptions"]["bot_events"]}
    assert declared == set(handlers.EVENTS)


def test_the_slash_command_and_interactivity_match_the_handlers():
    assert {c["command"] for c in MANIFEST["features"]["slash_commands"]} == set(handlers.COMMANDS)
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is bool(handlers.ACTIONS)
    bot_source = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    for action_id in handlers.ACTIONS:  # every handled action is one the bot puts on a message
        assert f'"{action_id}"' in bot_source, action_id


def test_scopes_are_exactly_what_the_code_uses():
    source = "\n".join(p.read_text() for d in ("bot", "handlers") for p in (ROOT / d).rglob("*.py"))
    api_methods = {name for name in dir(AsyncWebClient) if not name.startswith("_")}
    used = set(re.findall(r"\.(\w+_\w+)\(", source)) & api_methods
    assert used == set(METHOD_SCOPES), f"update METHOD_SCOPES for: {set(METHOD_SCOPES) ^ used}"
    needed: set[str] = {"commands"}
    for method in used:
        scope = METHOD_SCOPES[method]
        needed |= scope if isinstance(scope, set) else {scope} if scope else set()
    for event in MANIFEST["settings"]["event_subscriptions"]["bot_events"]:
        if EVENT_SCOPES[event]:
            needed.add(EVENT_SCOPES[event])
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == needed


def test_manifest_is_a_socket_mode_app_with_a_bot_user():
    assert MANIFEST["settings"]["socket_mode_enabled"] is True
    assert MANIFEST["features"]["bot_user"]["display_name"] == "chatops"
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True


def test_every_cli_command_has_help_text():
    runner = CliRunner()
    overview = runner.invoke(main, ["--help"])
    assert overview.exit_code == 0
    commands = [([name], command) for name, command in main.commands.items()]
    while commands:
        path, command = commands.pop()
        assert command.help, path
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0 and command.help.split(".")[0][:30] in result.output
        for param in command.params:
            assert getattr(param, "help", None) or param.param_type_name == "argument", f"{path} {param.name}"
        commands += [([*path, name], sub) for name, sub in getattr(command, "commands", {}).items()]


def test_every_skill_is_documented_in_the_contract():
    contract = (ROOT / "docs" / "skills.md").read_text()
    for skill in SKILLS:
        params = list(skill.parameters["properties"])
        assert f"### `{skill.name}(" in contract, skill.name
        heading = contract.split(f"### `{skill.name}(")[1].split(")")[0]
        assert [p.split("=")[0].strip() for p in heading.split(",") if p.strip()] == params, skill.name
        line = contract.split(f"### `{skill.name}(")[1].split("\n")[0]
        assert ("— mutates" in line) is skill.mutates, f"{skill.name}: the contract and Skill.of disagree on mutates"


def test_every_skill_declares_what_it_uses():
    for skill in SKILLS:
        source = inspect.getsource(skill.function)
        uses_repos = "need_repos()" in source or "ctx.proposer" in source  # a proposer exists only with repos
        assert uses_repos is ("repos" in skill.needs), skill.name
        assert ("need_data()" in source) is ("data" in skill.needs), skill.name
