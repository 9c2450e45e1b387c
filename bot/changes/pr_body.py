"""The pull request body: the request quoted, what changed, which checks ran and how, the policy,
and the way back to the Slack thread."""

from __future__ import annotations

from bot.store.records import Proposal


def pr_body(proposal: Proposal, *, requester: str, thread_link: str | None, run_id: str) -> str:
    quote = "\n".join(f"> {line}" for line in proposal.request.strip().splitlines()) or "> (no text)"
    files = "\n".join(f"- `{f['path']}` (+{f['added']} −{f['deleted']})" for f in proposal.files)
    checks = "\n".join(
        f"- {'✅' if c.passed else '❌'} `{c.command}` {'passed' if c.passed else f'failed (exit {c.exit_code})'}"
        f" in {c.seconds:.1f} s" for c in proposal.checks) or "- none configured"
    where = f"[Slack thread]({thread_link})" if thread_link else "Slack"
    return (f"{quote}\n\n{proposal.summary}\n\n### Files changed\n{files}\n\n### Checks run\n{checks}\n\n"
            f"### Change policy\n{proposal.verdict}\n\n---\nRequested in Slack by {requester} ({where}) · "
            f"proposed by chatops, change `{proposal.id}`, run `{run_id}`")
