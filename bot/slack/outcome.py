"""How a run ends, as the thread shows it: the status, the text and blocks, the reaction.

Exactly one of these per run. Exception text never appears here: a bug gets an apology with the
run id, and the details go to the log and the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.errors import UserError
from bot.slack import blocks
from bot.store.records import Proposal

log = logging.getLogger(__name__)

RESTARTED = ":warning: I was restarted while working on this, so it stopped."
COPY_CHOICE_ACTIONS = {"text": "copy_choice_text", "all": "copy_choice_all", "none": "copy_choice_none"}


@dataclass
class Outcome:
    status: str  # done | failed | cancelled | interrupted | waiting
    text: str
    blocks: list[dict[str, Any]]
    reaction: str
    error_kind: str | None = None
    error: str | None = None  # for operators (the DB and logs), never for Slack


def answered(run_id: str, seconds: float, steps: int, tokens: int, proposal: Proposal | None) -> Outcome:
    if proposal is not None:
        first = f"Proposed a change to `{proposal.repo}` in {seconds:.0f} s (preview below)" if proposal.verdict_ok \
            else f"The change to `{proposal.repo}` is outside this channel's policy (see below)"
    else:
        first = f"Answered in {seconds:.0f} s"
    parts = [first]
    if steps:
        parts.append(f"{steps} tool step{'s' if steps != 1 else ''}")
    if tokens:
        parts.append(f"{tokens / 1000:.1f}k tokens")
    parts.append(f"run `{run_id}`")
    refused = proposal is not None and not proposal.verdict_ok
    text = (":no_entry: " if refused else ":white_check_mark: ") + " · ".join(parts)
    return Outcome("done", text, blocks.summary(text), "x" if refused else "white_check_mark")


QUESTION_KINDS = ("ambiguous", "unknown_metric", "period")  # the user can answer by asking again


def user_error(run_id: str, exc: UserError) -> Outcome:
    if exc.kind in QUESTION_KINDS:
        text = f":grey_question: {exc.message}"
        return Outcome("done", text, blocks.outcome(text, run_id=run_id, retry=False, note=f"run `{run_id}`"),
                       "grey_question", exc.kind, exc.message)
    text = f":x: {exc.message}"
    return Outcome("failed", text, blocks.outcome(text, run_id=run_id, retry=exc.retryable, note=f"run `{run_id}`"),
                   "x", exc.kind, exc.message)


def stopped(run_id: str, *, restarting: bool, cancelled_by: str | None) -> Outcome:
    if restarting:
        return Outcome("interrupted", RESTARTED,
                       blocks.outcome(RESTARTED, run_id=run_id, retry=True, note=f"run `{run_id}`"), "x", "interrupted")
    text = f":no_entry_sign: Cancelled by <@{cancelled_by}>." if cancelled_by else ":no_entry_sign: Cancelled."
    return Outcome("cancelled", text, blocks.outcome(text, run_id=run_id, retry=True, note=f"run `{run_id}`"),
                   "no_entry_sign", "cancelled")


def timed_out(run_id: str, limit_seconds: float) -> Outcome:
    limit = f"{limit_seconds / 60:g} min" if limit_seconds >= 60 else f"{limit_seconds:g} s"
    text = f":hourglass: This took longer than {limit}, so I stopped. Try a narrower question, or Retry."
    return Outcome("failed", text, blocks.outcome(text, run_id=run_id, retry=True, note=f"run `{run_id}`"),
                   "x", "timeout", f"wall time over {limit_seconds} s")


def bug(run_id: str, exc: BaseException, redact) -> Outcome:
    log.error("run %s failed: %s", run_id, type(exc).__name__, exc_info=exc)
    text = f":x: Sorry, something went wrong on my side. It is logged under run `{run_id}`."
    return Outcome("failed", text, blocks.outcome(text, run_id=run_id, retry=True), "x", "bug",
                   redact(f"{type(exc).__name__}: {exc}")[:2000])


def ask_repo(run_id: str, candidates: list, links: list) -> Outcome:
    names = ", ".join(f"`{link.name}`" for link in candidates)
    text = f":grey_question: Which repo do you mean? This could be about {names}."
    options = [x.name for x in candidates] + [x.name for x in links if x not in candidates]
    return Outcome("waiting", text, blocks.choose_repo(text, run_id=run_id, names=options), "grey_question", "choice")


def ask_copy(run_id: str, old: str, text_count: int, code_count: int, table: str) -> Outcome:
    """Some matches are user-facing text and some are code: which to change?"""
    total = text_count + code_count
    message = (f":grey_question: \"{old}\" appears {total} times: {text_count} in user-facing text and "
               f"{code_count} in code (names or keys, where changing it may break things). Which should I change?")
    buttons: list[tuple[str, str, str | None]] = []
    if text_count:
        buttons.append(("text", f"Only the {text_count} in text", "primary"))
    buttons += [("all", f"All {total}", None), ("none", "Neither", None)]
    elements = [{"type": "button", "action_id": COPY_CHOICE_ACTIONS[value], "value": f"{run_id}|{value}",
                 "text": {"type": "plain_text", "text": label}, **({"style": style} if style else {})}
                for value, label, style in buttons]
    body: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": message}},
            {"type": "section", "text": {"type": "mrkdwn", "text": table[:2900]}},
            {"type": "actions", "block_id": f"copy-{run_id}", "elements": elements}]
    return Outcome("waiting", message, body, "grey_question", "choice")
