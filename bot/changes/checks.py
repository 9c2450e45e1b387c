"""Which checks a repo wants before a change is proposed, and running them in the sandbox.

The commands come from chatops.yml (`checks:` on the repo entry), else from the repo's AGENTS.md
(a section about checks/tests/lint, or backticked commands on lines that talk about them), else
there are none. They run in the run's worktree, inside the sandbox, one after another.
"""

from __future__ import annotations

import re
import time

from bot.repos.sandbox import Sandbox, SandboxUnavailableError
from bot.repos.workspace import Worktree
from bot.store.records import CheckResult

MAX_CHECKS = 3
CHECK_WORDS = re.compile(r"\b(test|tests|check|checks|lint|linter|verify|validate|typecheck)\b", re.IGNORECASE)
HEADING = re.compile(r"^#{1,6}\s+(.*)$")
FENCE = re.compile(r"^```[\w-]*\s*$")
INLINE = re.compile(r"`([^`\n]{2,200})`")
COMMANDISH = re.compile(r"^(?:\./|[a-z][\w.+-]*\s|[a-z][\w.+-]*$)")


def commands_from_agents_md(text: str) -> list[str]:
    """Check commands an AGENTS.md names: a fenced block under a checks/tests heading, else backticked
    commands on lines that mention running tests or checks."""
    lines = text.splitlines()
    found: list[str] = []
    in_section = in_fence = False
    for line in lines:
        heading = HEADING.match(line)
        if heading and not in_fence:
            in_section = bool(CHECK_WORDS.search(heading.group(1)))
            continue
        if FENCE.match(line.strip()):
            in_fence = not in_fence
            continue
        if in_section and in_fence and line.strip() and not line.strip().startswith("#"):
            found.append(line.strip().removeprefix("$ "))
    if not found:
        for line in lines:
            if CHECK_WORDS.search(line):
                found += [m.strip() for m in INLINE.findall(line) if COMMANDISH.match(m.strip())]
    unique = list(dict.fromkeys(found))
    return unique[:MAX_CHECKS]


async def run_checks(sandbox: Sandbox, worktree: Worktree, commands: list[str]) -> list[CheckResult]:
    results = []
    for command in commands:
        started = time.monotonic()
        try:
            outcome = await sandbox.run(command, worktree.path, worktree.mirror)
        except SandboxUnavailableError as exc:
            results.append(CheckResult(command, False, None, 0.0, f"not run: {exc}"))
            continue
        tail = "\n".join(outcome.output.splitlines()[-15:])
        note = " (killed at the time limit)" if outcome.timed_out else ""
        results.append(CheckResult(command, outcome.exit_code == 0, outcome.exit_code,
                                   round(time.monotonic() - started, 1), tail + note))
    return results
