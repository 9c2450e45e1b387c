"""The preview of a proposed change in Slack (the pull request body, bot/changes/pr_body.py, carries the same proof)."""

from __future__ import annotations

from typing import Any

from bot.changes.proposal import can_open
from bot.slack.io import SlackIO
from bot.store.records import Proposal

INLINE_DIFF_CHARS = 2_500
OPEN_PR_ACTION = "open_pr"
DISCARD_ACTION = "discard_change"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def checks_lines(proposal: Proposal) -> list[str]:
    if not proposal.checks:
        return ["No checks ran (name them as `checks:` in chatops.yml or in the repo's AGENTS.md)."]
    lines = []
    for check in proposal.checks:
        mark = ":white_check_mark:" if check.passed else ":x:"
        state = "passed" if check.passed else f"failed (exit {check.exit_code})"
        lines.append(f"{mark} `{check.command}` {state} · {check.seconds:.1f} s")
    return lines


def blocks(proposal: Proposal, *, require_passing_checks: bool, diff_attached: bool,
           approvers: tuple[str, ...]) -> list[dict[str, Any]]:
    files = ", ".join(f"`{f['path']}` (+{f['added']} −{f['deleted']})" for f in proposal.files[:8])
    if len(proposal.files) > 8:
        files += f" and {len(proposal.files) - 8} more"
    head = f":memo: *Proposed change to `{proposal.repo}`*: {proposal.title}\n{proposal.summary}\n*Files*: {files}"
    result = [_section(head)]
    if diff_attached:
        result.append(_context(f"The diff is long, so it is attached as `change-{proposal.id}.diff`."))
    else:
        result.append(_section(f"```{proposal.patch.strip()[:INLINE_DIFF_CHARS]}```"))
    result.append(_section("*Checks*\n" + "\n".join(checks_lines(proposal))))
    failed = [c for c in proposal.checks if not c.passed and c.tail.strip()]
    if failed:
        result.append(_section(f"Output of `{failed[0].command}` (last lines):\n```{failed[0].tail[-1500:]}```"))
    policy = f":white_check_mark: {proposal.verdict}" if proposal.verdict_ok else \
        f":no_entry: Refused: {proposal.verdict}. Nothing will be pushed."
    result.append(_section(f"*Policy*: {policy}"))
    blocked = can_open(proposal, require_passing_checks)
    who = ", ".join(f"<@{u}>" for u in approvers or (proposal.requester,))
    if blocked:
        result.append(_context(f"This can't become a pull request: {blocked}. Ask me to adjust it in this thread."))
        result.append(_actions(proposal, open_button=False))
    else:
        verb = f"Update PR #{proposal.pr_number}" if proposal.pr_number else "Open PR"
        result.append(_context(f"{who} can press *{verb}*; a reply in this thread asks me to change it. "
                               f"Change `{proposal.id}`."))
        result.append(_actions(proposal, open_button=True, label=verb))
    return result


def _actions(proposal: Proposal, *, open_button: bool, label: str = "Open PR") -> dict[str, Any]:
    elements = []
    if open_button:
        elements.append({"type": "button", "action_id": OPEN_PR_ACTION, "value": proposal.id, "style": "primary",
                         "text": {"type": "plain_text", "text": label}})
    elements.append({"type": "button", "action_id": DISCARD_ACTION, "value": proposal.id, "style": "danger",
                     "text": {"type": "plain_text", "text": "Discard"}})
    return {"type": "actions", "block_id": f"proposal-{proposal.id}", "elements": elements}


def settled(proposal: Proposal, note: str) -> list[dict[str, Any]]:
    """The preview once decided: the same facts, no buttons, and what happened."""
    files = ", ".join(f"`{f['path']}`" for f in proposal.files[:8])
    return [_section(f":memo: *Change to `{proposal.repo}`*: {proposal.title}\n*Files*: {files}"),
            _section("*Checks*\n" + "\n".join(checks_lines(proposal))), _context(note)]


async def post(io: SlackIO, proposal: Proposal, *, require_passing_checks: bool,
               approvers: tuple[str, ...]) -> str:
    attach = len(proposal.patch) > INLINE_DIFF_CHARS
    if attach:
        await io.upload(proposal.channel, proposal.thread_ts, filename=f"change-{proposal.id}.diff",
                        content=proposal.patch, title=f"Diff of {proposal.title}")
    text = f"Proposed change to {proposal.repo}: {proposal.title}"
    return await io.post(proposal.channel, proposal.thread_ts, text=text, key=f"{proposal.id}:preview",
                         blocks=blocks(proposal, require_passing_checks=require_passing_checks,
                                       diff_attached=attach, approvers=approvers))
