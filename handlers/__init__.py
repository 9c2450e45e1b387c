"""Thin Slack adapters: an event, action or command becomes a call on the core, nothing more.

`LISTENERS` is the one list of what the app handles; manifest.yml must declare exactly these
(a test checks both directions).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp

from handlers.actions import (
    on_cancel_run,
    on_choose_repo,
    on_copy_choice,
    on_discard_change,
    on_open_pr,
    on_retry_run,
)
from handlers.assistant import on_assistant_thread_started
from handlers.commands import on_chatops_command
from handlers.events import on_app_mention, on_message
from handlers.home import on_app_home_opened

Listener = Callable[..., Awaitable[None]]  # Bolt passes what the signature names

EVENTS: dict[str, Listener] = {
    "app_mention": on_app_mention,
    "message": on_message,
    "app_home_opened": on_app_home_opened,
    "assistant_thread_started": on_assistant_thread_started,
}
COMMANDS: dict[str, Listener] = {"/chatops": on_chatops_command}
ACTIONS: dict[str, Listener] = {
    "cancel_run": on_cancel_run,
    "retry_run": on_retry_run,
    "choose_repo": on_choose_repo,
    "open_pr": on_open_pr,
    "discard_change": on_discard_change,
    "copy_choice_text": on_copy_choice,
    "copy_choice_all": on_copy_choice,
    "copy_choice_none": on_copy_choice,
}


def register(app: AsyncApp) -> None:
    for event, listener in EVENTS.items():
        app.event(event)(listener)
    for command, listener in COMMANDS.items():
        app.command(command)(listener)
    for action_id, listener in ACTIONS.items():
        app.action(action_id)(listener)
