"""The one SQLite database: seen events, runs, thread sessions and the tool-call audit trail.

All access happens on the event loop thread; each statement is sub-millisecond, so the
loop is never held for long. WAL mode lets `chatops status` read while the bot writes.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.errors import UserError
from bot.redact import Redactor
from bot.store.migrations import migrate
from bot.store.records import RUN_COLUMNS, Proposal, Run, ThreadSession, new_run_id


class StoreUnavailableError(UserError):
    """The store's folder or file cannot be written: full, read-only, or not a folder."""

    @classmethod
    def about(cls, path: Path, exc: BaseException) -> StoreUnavailableError:
        text = str(exc).lower()
        errno = getattr(exc, "errno", None)
        if errno == 28 or "full" in text:  # ENOSPC, or SQLite's "database or disk is full"
            why = "the disk is full"
        elif errno in (13, 30) or "readonly" in text or "read-only" in text:  # EACCES, EROFS
            why = "its folder is read-only"
        else:
            why = f"it cannot be opened ({type(exc).__name__})"
        return cls(f"I can't use my database at {path}: {why}. Point CHATOPS_HOME at a writable folder with "
                   "free space (`chatops doctor` checks it).", kind="store")


class Store:
    """`redactor` takes the configured secrets out of every text the store keeps (requests, thread
    messages, tool calls, proposals' words) before it is written, as Slack posts and logs already are.
    A proposal's patch is kept as it is: it must apply exactly; the change policy is what keeps secrets
    out of a patch."""

    def __init__(self, db: Database, redactor: Redactor | None = None) -> None:
        self.db = db
        self.redactor = redactor or Redactor()
        migrate(db)

    @classmethod
    def open(cls, path: Path, redactor: Redactor | None = None) -> Store:
        """The store at `path`; `StoreUnavailableError` (a plain sentence) when it cannot be opened for writing."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = Database(path)
            db.enable_wal()
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=5000")
            return cls(db, redactor)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailableError.about(path, exc) from exc

    @classmethod
    def memory(cls) -> Store:
        return cls(Database(memory=True))

    def close(self) -> None:
        self.db.close()

    # --- dedupe -----------------------------------------------------------------------------

    def claim(self, key: str) -> bool:
        """Record `key` as handled; False if it was already (a retry, a redelivery, a double click)."""
        cursor = self.db.execute("INSERT OR IGNORE INTO seen_events (key, at) VALUES (?, ?)", [key, time.time()])
        return cursor.rowcount == 1

    def forget_seen_before(self, cutoff: float) -> int:
        return self.db.execute("DELETE FROM seen_events WHERE at < ?", [cutoff]).rowcount

    # --- runs -------------------------------------------------------------------------------

    def create_run(self, **values: Any) -> Run:
        if isinstance(values.get("text"), str):
            values["text"] = self.redactor.text(values["text"])
        run = Run(id=values.pop("id", None) or new_run_id(), created_at=time.time(), **values)
        row = _row(run)
        self.db.execute(f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                        list(row.values()))
        return run

    def get_run(self, run_id: str) -> Run | None:
        rows = self.db.execute_returning_dicts("SELECT * FROM runs WHERE id = ?", [run_id])
        return Run.from_row(rows[0]) if rows else None

    def update_run(self, run_id: str, **values: Any) -> None:
        unknown = set(values) - RUN_COLUMNS
        if unknown:
            raise ValueError(f"no run column(s) {', '.join(sorted(unknown))}")
        values = self._words_redacted(values, ("text", "error"))
        assignments = ", ".join(f"{name} = ?" for name in values)
        self.db.execute(f"UPDATE runs SET {assignments} WHERE id = ?", [*values.values(), run_id])

    def _words_redacted(self, values: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
        return {k: self.redactor.text(v) if k in keys and isinstance(v, str) else v for k, v in values.items()}

    def runs(self, statuses: Iterable[str], channel: str | None = None, thread_ts: str | None = None) -> list[Run]:
        statuses = list(statuses)
        where = f"status IN ({', '.join('?' for _ in statuses)})"
        args: list[Any] = list(statuses)
        if channel:
            where += " AND channel = ?"
            args.append(channel)
        if thread_ts:
            where += " AND thread_ts = ?"
            args.append(thread_ts)
        return [Run.from_row(r) for r in self.db["runs"].rows_where(where, args, order_by="created_at")]

    def has_runs(self, channel: str, thread_ts: str) -> bool:
        return bool(self.db.execute(
            "SELECT 1 FROM runs WHERE channel = ? AND thread_ts = ? LIMIT 1", [channel, thread_ts]
        ).fetchone())

    def count_runs(self) -> int:
        return self.db["runs"].count

    def recent_runs(self, *, user: str | None = None, limit: int = 10) -> list[Run]:
        where, args = ("user = ?", [user]) if user else (None, None)
        rows = self.db["runs"].rows_where(where, args, order_by="created_at desc", limit=limit)
        return [Run.from_row(r) for r in rows]

    # --- thread sessions --------------------------------------------------------------------

    def load_thread(self, channel: str, thread_ts: str) -> ThreadSession | None:
        rows = self.db.execute_returning_dicts(
            "SELECT * FROM threads WHERE channel = ? AND thread_ts = ?", [channel, thread_ts])
        if not rows:
            return None
        row = rows[0]
        return ThreadSession(
            channel=channel,
            thread_ts=thread_ts,
            messages=json.loads(row["messages"] or "[]"),
            context_ts=row["context_ts"],
            assistant=bool(row["assistant"]),
            repo=row.get("repo"),
            branch=row.get("branch"),
        )

    def save_thread(self, session: ThreadSession) -> None:
        self.db.execute(
            "INSERT INTO threads (channel, thread_ts, messages, context_ts, assistant, repo, branch, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, thread_ts) DO UPDATE SET "
            "messages = excluded.messages, context_ts = excluded.context_ts, assistant = excluded.assistant, "
            "repo = excluded.repo, branch = excluded.branch, updated_at = excluded.updated_at",
            [session.channel, session.thread_ts, json.dumps(self.redactor.data(session.messages)), session.context_ts,
             int(session.assistant), session.repo, session.branch, time.time()],
        )

    def is_assistant_thread(self, channel: str, thread_ts: str) -> bool:
        row = self.db.execute("SELECT assistant FROM threads WHERE channel = ? AND thread_ts = ?",
                              [channel, thread_ts]).fetchone()
        return bool(row and row[0])

    def has_thread(self, channel: str, thread_ts: str) -> bool:
        return bool(self.db.execute(
            "SELECT 1 FROM threads WHERE channel = ? AND thread_ts = ?", [channel, thread_ts]
        ).fetchone())

    # --- linked repos (those linked from Slack; chatops.yml ones live in Settings) ---------------

    def link_repo(self, channel: str, name: str, url: str, branch: str | None, user: str) -> None:
        self.db.execute(
            "INSERT INTO repo_links (channel, name, url, branch, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (channel, name) DO UPDATE SET url = excluded.url, branch = excluded.branch",
            [channel, name, url, branch, user, time.time()],
        )

    def unlink_repo(self, channel: str, name: str) -> bool:
        return self.db.execute("DELETE FROM repo_links WHERE channel = ? AND name = ?", [channel, name]).rowcount > 0

    def repo_links(self, channel: str) -> list[dict[str, Any]]:
        return self.db.execute_returning_dicts(
            "SELECT name, url, branch FROM repo_links WHERE channel = ? ORDER BY added_at", [channel])

    def link_data(self, channel: str, name: str, url: str, user: str) -> None:
        self.db.execute(
            "INSERT INTO data_links (channel, name, url, added_by, added_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (channel, name) DO UPDATE SET url = excluded.url",
            [channel, name, url, user, time.time()],
        )

    def unlink_data(self, channel: str, name: str) -> bool:
        return self.db.execute("DELETE FROM data_links WHERE channel = ? AND name = ?", [channel, name]).rowcount > 0

    def data_links(self, channel: str) -> list[dict[str, Any]]:
        return self.db.execute_returning_dicts(
            "SELECT name, url FROM data_links WHERE channel = ? ORDER BY added_at", [channel])

    # --- proposed changes --------------------------------------------------------------------

    def save_proposal(self, proposal: Proposal) -> None:
        proposal.updated_at = time.time()
        row = proposal.row()
        for words in ("request", "title", "summary", "verdict", "error"):
            if isinstance(row.get(words), str):
                row[words] = self.redactor.text(row[words])
        self.db.execute(
            f"INSERT OR REPLACE INTO proposals ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
            list(row.values()))

    def get_proposal(self, proposal_id: str) -> Proposal | None:
        rows = self.db.execute_returning_dicts("SELECT * FROM proposals WHERE id = ?", [proposal_id])
        return Proposal.from_row(rows[0]) if rows else None

    def latest_proposal(self, channel: str, thread_ts: str) -> Proposal | None:
        rows = self.db.execute_returning_dicts(
            "SELECT * FROM proposals WHERE channel = ? AND thread_ts = ? ORDER BY created_at DESC LIMIT 1",
            [channel, thread_ts])
        return Proposal.from_row(rows[0]) if rows else None

    def proposals_with(self, statuses: Iterable[str]) -> list[Proposal]:
        statuses = list(statuses)
        rows = self.db.execute_returning_dicts(
            f"SELECT * FROM proposals WHERE status IN ({', '.join('?' for _ in statuses)}) ORDER BY created_at",
            statuses)
        return [Proposal.from_row(r) for r in rows]

    def move_proposal(self, proposal_id: str, from_statuses: Iterable[str], to_status: str, **values: Any) -> bool:
        """Change a proposal's status only if it is in one of `from_statuses` (an atomic claim)."""
        statuses = list(from_statuses)
        values = self._words_redacted(values, ("verdict", "error"))
        sets = ", ".join(f"{k} = ?" for k in ("status", *values, "updated_at"))
        cursor = self.db.execute(
            f"UPDATE proposals SET {sets} WHERE id = ? AND status IN ({', '.join('?' for _ in statuses)})",
            [to_status, *values.values(), time.time(), proposal_id, *statuses])
        return cursor.rowcount == 1

    # --- audit trail ------------------------------------------------------------------------

    def record_tool_call(self, run_id: str, step: int, name: str, arguments: str, ms: int, ok: bool,
                         error: str | None, *, mutates: bool = False) -> None:
        self.db.execute(
            "INSERT INTO tool_calls (run_id, step, name, arguments, ms, ok, error, mutates, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, step, name, self.redactor.text(arguments[:4000]), ms, int(ok),
             self.redactor.text(error) if error else error, int(mutates), time.time()],
        )

    def tool_calls(self, run_id: str) -> list[dict[str, Any]]:
        return list(self.db["tool_calls"].rows_where("run_id = ?", [run_id], order_by="id"))



def _row(run: Run) -> dict[str, Any]:
    return {f.name: getattr(run, f.name) for f in fields(run)}
