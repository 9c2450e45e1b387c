"""Numbered schema migrations, applied in order and recorded in `_migrations`.

Add a migration by appending a function `mNNN_what_it_does(db)` to MIGRATIONS; never edit one
that has shipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlite_utils import Database


def m001_create_core_tables(db: Database) -> None:
    db.table("seen_events").create({"key": str, "at": float}, pk="key")
    db.table("runs").create(
        {
            "id": str,
            "team": str,
            "channel": str,
            "thread_ts": str,
            "message_ts": str,
            "user": str,
            "text": str,
            "status": str,
            "error_kind": str,
            "error": str,
            "retry_of": str,
            "created_at": float,
            "started_at": float,
            "finished_at": float,
            "progress_ts": str,
            "steps": int,
            "tool_calls": int,
            "prompt_tokens": int,
            "completion_tokens": int,
        },
        pk="id",
        defaults={"status": "queued", "steps": 0, "tool_calls": 0, "prompt_tokens": 0, "completion_tokens": 0},
    )
    db.table("runs").create_index(["status"])
    db.table("runs").create_index(["channel", "thread_ts"])
    db.table("threads").create(
        {
            "channel": str,
            "thread_ts": str,
            "messages": str,
            "context_ts": str,
            "assistant": int,
            "updated_at": float,
        },
        pk=("channel", "thread_ts"),
        defaults={"messages": "[]", "assistant": 0},
    )
    db.table("tool_calls").create(
        {
            "id": int,
            "run_id": str,
            "step": int,
            "name": str,
            "arguments": str,
            "ms": int,
            "ok": int,
            "error": str,
            "at": float,
        },
        pk="id",
    )
    db.table("tool_calls").create_index(["run_id"])


def m002_repo_links_and_run_repos(db: Database) -> None:
    db.table("repo_links").create(
        {"channel": str, "name": str, "url": str, "branch": str, "added_by": str, "added_at": float},
        pk=("channel", "name"),
    )
    db.table("runs").add_column("repo", str)
    db.table("runs").add_column("branch", str)
    db.table("threads").add_column("repo", str)
    db.table("threads").add_column("branch", str)


def m003_proposals(db: Database) -> None:
    db.table("proposals").create(
        {
            "id": str, "run_id": str, "channel": str, "thread_ts": str, "requester": str, "request": str,
            "repo": str, "repo_url": str, "base_branch": str, "base_sha": str, "title": str, "summary": str,
            "patch": str, "files": str, "checks": str, "checks_passed": int, "verdict_ok": int, "verdict": str,
            "status": str, "branch": str, "pr_number": int, "pr_url": str, "preview_ts": str, "supersedes": str,
            "opened_by": str, "error": str, "created_at": float, "updated_at": float,
        },
        pk="id",
        defaults={"status": "previewed"},
    )
    db.table("proposals").create_index(["channel", "thread_ts"])
    db.table("proposals").create_index(["status"])
    db.table("runs").add_column("choice", str)


def m004_data_links(db: Database) -> None:
    db.table("data_links").create(
        {"channel": str, "name": str, "url": str, "added_by": str, "added_at": float},
        pk=("channel", "name"),
    )


def m005_tool_calls_mutates(db: Database) -> None:
    """The audit trail says which tool calls could change something (a skill declared `mutates`)."""
    db.table("tool_calls").add_column("mutates", int, not_null_default=0)


MIGRATIONS: list[Callable[[Database], None]] = [
    m001_create_core_tables,
    m002_repo_links_and_run_repos,
    m003_proposals,
    m004_data_links,
    m005_tool_calls_mutates,
]


def migrate(db: Database) -> list[str]:
    """Apply every migration not yet recorded; return the names applied."""
    db.table("_migrations").create({"name": str, "applied_at": float}, pk="name", if_not_exists=True)
    done = {row["name"] for row in db.table("_migrations").rows}
    applied = []
    for migration in MIGRATIONS:
        name = migration.__name__
        if name in done:
            continue
        with db.atomic():
            migration(db)
            db.table("_migrations").insert({"name": name, "applied_at": time.time()})
        applied.append(name)
    return applied
