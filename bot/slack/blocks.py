"""Block Kit for the messages a run posts.

Plain dicts rather than slack_sdk's model classes: these are built several times per run and
the models' validation (by introspection) cost more than the rest of the message path. Limits
are enforced here instead (section text 3,000, markdown block 12,000, 50 blocks).
"""

from __future__ import annotations

from typing import Any

from bot.slack.mrkdwn import split_markdown

CANCEL_ACTION = "cancel_run"
RETRY_ACTION = "retry_run"
CHOOSE_REPO_ACTION = "choose_repo"
SECTION_LIMIT = 3000
MARKDOWN_BLOCK_LIMIT = 12_000
MAX_BLOCKS = 50


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _button(text: str, action_id: str, value: str, style: str) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id,
            "value": value, "style": style}


def progress(run_id: str, headline: str, steps: list[str]) -> list[dict[str, Any]]:
    """The one progress message: what it is doing now, the last few steps, and a Cancel button."""
    blocks = [_section(headline)]
    if steps:
        blocks.append(_context("\n".join(steps[-6:])))
    blocks.append({"type": "actions", "block_id": f"progress-{run_id}",
                   "elements": [_button("Cancel", CANCEL_ACTION, run_id, "danger")]})
    return blocks


def outcome(mrkdwn: str, *, run_id: str, retry: bool, note: str | None = None) -> list[dict[str, Any]]:
    """An error or notice, with a Retry button when trying again can help."""
    blocks = [_section(mrkdwn)]
    if note:
        blocks.append(_context(note))
    if retry:
        blocks.append({"type": "actions", "block_id": f"outcome-{run_id}",
                       "elements": [_button("Retry", RETRY_ACTION, run_id, "primary")]})
    return blocks


def choose_repo(mrkdwn: str, *, run_id: str, names: list[str]) -> list[dict[str, Any]]:
    """A question with a dropdown of repos; picking one continues the request with it."""
    options = [{"text": {"type": "plain_text", "text": name[:75]}, "value": name[:150]} for name in names[:100]]
    return [
        _section(mrkdwn),
        {"type": "actions", "block_id": f"choose-{run_id}", "elements": [
            {"type": "static_select", "action_id": CHOOSE_REPO_ACTION, "options": options,
             "placeholder": {"type": "plain_text", "text": "Choose a repo"}}]},
        _context(f"run `{run_id}` · or reply with `repo=<name>`"),
    ]


def summary(mrkdwn: str) -> list[dict[str, Any]]:
    return [_context(mrkdwn)]


def markdown(text: str) -> list[dict[str, Any]]:
    return [{"type": "markdown", "text": text[:MARKDOWN_BLOCK_LIMIT]}]


def mrkdwn_sections(mrkdwn: str) -> list[dict[str, Any]]:
    """mrkdwn text as section blocks of at most 3,000 characters each (the fallback rendering)."""
    return [_section(part) for part in split_markdown(mrkdwn, SECTION_LIMIT)][:MAX_BLOCKS]
