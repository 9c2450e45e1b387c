"""What the store keeps, as plain records: runs, thread sessions, proposed changes.

A proposed change is the patch a run made, how it was checked, and where it went (preview, PR)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field, fields
from typing import Any

ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "cancelled", "interrupted", "waiting")  # waiting: asked the user a question


@dataclass
class Run:
    id: str
    channel: str
    thread_ts: str
    message_ts: str
    user: str
    text: str
    team: str = ""
    status: str = "queued"
    error_kind: str | None = None
    error: str | None = None
    retry_of: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    progress_ts: str | None = None
    steps: int = 0
    tool_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    repo: str | None = None  # the linked repo this run works on, once chosen
    branch: str | None = None
    choice: str | None = None  # an answer to a question the bot asked (e.g. which copy matches to change)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Run:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in names})


@dataclass
class ThreadSession:
    """What the model has seen in one Slack thread, so follow-ups continue the conversation."""

    channel: str
    thread_ts: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    context_ts: str | None = None  # newest thread message already given to the model
    assistant: bool = False
    repo: str | None = None  # the repo this thread is about, once chosen (follow-ups keep it)
    branch: str | None = None


RUN_COLUMNS = frozenset(f.name for f in fields(Run))


def new_run_id() -> str:
    return "r" + secrets.token_hex(4)


# previewed -> publishing -> opened; previewed -> discarded | expired | refused; publishing -> failed -> publishing
OPEN_FOR_ACTION = ("previewed", "failed")


@dataclass
class CheckResult:
    command: str
    passed: bool
    exit_code: int | None
    seconds: float
    tail: str  # the last lines of its output


@dataclass
class Proposal:
    id: str
    run_id: str
    channel: str
    thread_ts: str
    requester: str
    request: str
    repo: str  # the linked repo's name, e.g. acme/website
    repo_url: str
    base_branch: str
    base_sha: str
    title: str
    summary: str
    patch: str
    files: list[dict[str, Any]] = field(default_factory=list)  # [{path, status, added, deleted}]
    checks: list[CheckResult] = field(default_factory=list)
    verdict_ok: bool = True
    verdict: str = ""
    status: str = "previewed"
    branch: str | None = None
    pr_number: int | None = None
    pr_url: str | None = None
    preview_ts: str | None = None
    supersedes: str | None = None
    opened_by: str | None = None
    error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def checks_passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def row(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["files"] = json.dumps(self.files)
        values["checks"] = json.dumps([c.__dict__ for c in self.checks])
        values["checks_passed"] = int(self.checks_passed)
        values["verdict_ok"] = int(self.verdict_ok)
        return values

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Proposal:
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in row.items() if k in names}
        values["files"] = json.loads(row.get("files") or "[]")
        values["checks"] = [CheckResult(**c) for c in json.loads(row.get("checks") or "[]")]
        values["verdict_ok"] = bool(row.get("verdict_ok"))
        return cls(**values)


def new_proposal_id() -> str:
    return "p" + secrets.token_hex(4)
