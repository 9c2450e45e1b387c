"""Is a signed interaction payload one we can act on? Slack signs what it sends, but a signature
proves only who sent the bytes, not that they hold what a listener reads.

`problem(body)` names what is missing from a slash command or a button click (None when nothing
is). The HTTP front answers such a request with 400 before any listener runs; in Socket Mode the
listeners check the same and drop it with a log line.
"""

from __future__ import annotations

from typing import Any

VALUE_ACTIONS = ("cancel_run", "retry_run", "open_pr", "discard_change", "copy_choice_text", "copy_choice_all",
                 "copy_choice_none")
SELECT_ACTIONS = ("choose_repo",)


def problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "not a JSON object"
    if "command" in body:
        return _command_problem(body)
    if body.get("type") == "block_actions":
        return _actions_problem(body)
    return None  # events, url_verification and anything unhandled are Bolt's to route


def _command_problem(body: dict[str, Any]) -> str | None:
    for key in ("command", "channel_id", "user_id"):
        if not _text(body.get(key)):
            return f"a slash command without `{key}`"
    if "text" in body and not isinstance(body["text"], str):
        return "a slash command whose `text` is not text"
    return None


def _actions_problem(body: dict[str, Any]) -> str | None:
    if not _text(_get(body, "user", "id")):
        return "a click without `user.id`"
    if not (_text(_get(body, "channel", "id")) or _text(_get(body, "container", "channel_id"))):
        return "a click without a channel"
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not all(isinstance(a, dict) for a in actions):
        return "a click without `actions`"
    action = actions[0]
    action_id = action.get("action_id")
    if not _text(action_id):
        return "an action without `action_id`"
    if action_id in VALUE_ACTIONS and not _text(action.get("value")):
        return f"a `{action_id}` click without its `value`"
    if action_id in SELECT_ACTIONS and not (_text(action.get("block_id"))
                                            and _text(_get(action, "selected_option", "value"))):
        return f"a `{action_id}` pick without `block_id` and `selected_option.value`"
    return None


def _get(body: dict[str, Any], key: str, inner: str) -> Any:
    outer = body.get(key)
    return outer.get(inner) if isinstance(outer, dict) else None


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)
