"""Block Kit for the messages the bot posts, built with slack_sdk's models."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    MarkdownBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.mrkdwn import split_markdown

CANCEL_ACTION = "cancel_run"
RETRY_ACTION = "retry_run"
SECTION_LIMIT = 3000
MARKDOWN_BLOCK_LIMIT = 12_000
MAX_BLOCKS = 50


def _section(mrkdwn: str) -> dict[str, Any]:
    return SectionBlock(text=MarkdownTextObject(text=mrkdwn[:SECTION_LIMIT])).to_dict()


def _context(mrkdwn: str) -> dict[str, Any]:
    return ContextBlock(elements=[MarkdownTextObject(text=mrkdwn[:SECTION_LIMIT])]).to_dict()


def progress(run_id: str, headline: str, steps: list[str]) -> list[dict[str, Any]]:
    """The one progress message: what it is doing now, the last few steps, and a Cancel button."""
    blocks = [_section(headline)]
    if steps:
        blocks.append(_context("\n".join(steps[-6:])))
    blocks.append(ActionsBlock(block_id=f"progress-{run_id}", elements=[
        ButtonElement(text="Cancel", action_id=CANCEL_ACTION, value=run_id, style="danger"),
    ]).to_dict())
    return blocks


def outcome(mrkdwn: str, *, run_id: str, retry: bool, note: str | None = None) -> list[dict[str, Any]]:
    """An error or notice, with a Retry button when trying again can help."""
    blocks = [_section(mrkdwn)]
    if note:
        blocks.append(_context(note))
    if retry:
        blocks.append(ActionsBlock(block_id=f"outcome-{run_id}", elements=[
            ButtonElement(text="Retry", action_id=RETRY_ACTION, value=run_id, style="primary"),
        ]).to_dict())
    return blocks


def summary(mrkdwn: str) -> list[dict[str, Any]]:
    return [_context(mrkdwn)]


def markdown(text: str) -> list[dict[str, Any]]:
    return [MarkdownBlock(text=text[:MARKDOWN_BLOCK_LIMIT]).to_dict()]


def mrkdwn_sections(mrkdwn: str) -> list[dict[str, Any]]:
    """mrkdwn text as section blocks of at most 3,000 characters each (the fallback rendering)."""
    return [_section(part) for part in split_markdown(mrkdwn, SECTION_LIMIT)][:MAX_BLOCKS]
