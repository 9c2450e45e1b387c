"""The SQLite store on a real database: migrations, dedupe claims, runs, thread sessions, audit trail."""

from __future__ import annotations

import sqlite3

import pytest
from sqlite_utils import Database

from bot.store.migrations import MIGRATIONS, migrate
from bot.store.records import ThreadSession
from bot.store.sqlite import Store, StoreUnavailableError


def test_migrations_are_recorded_and_run_once(tmp_path):
    db = Database(tmp_path / "x.db")
    assert migrate(db) == [m.__name__ for m in MIGRATIONS]
    assert migrate(db) == []
    assert {"seen_events", "runs", "threads", "tool_calls", "_migrations"} <= set(db.table_names())


def test_claim_is_true_once_and_survives_reopening(tmp_path):
    store = Store.open(tmp_path / "chatops.db")
    assert store.claim("message:C1:1.0") is True
    assert store.claim("message:C1:1.0") is False
    store.close()
    reopened = Store.open(tmp_path / "chatops.db")
    assert reopened.claim("message:C1:1.0") is False
    assert reopened.claim("message:C1:2.0") is True


def test_runs_round_trip_and_filter_by_status():
    store = Store.memory()
    run = store.create_run(channel="C1", thread_ts="1.0", message_ts="1.0", user="U1", text="hi")
    other = store.create_run(channel="C2", thread_ts="2.0", message_ts="2.0", user="U1", text="yo")
    store.update_run(other.id, status="done")
    assert store.get_run(run.id).text == "hi"
    assert [r.id for r in store.runs(["queued", "running"])] == [run.id]
    assert [r.id for r in store.runs(["done"], channel="C2")] == [other.id]
    assert store.get_run("nope") is None


def test_thread_sessions_keep_the_conversation():
    store = Store.memory()
    assert store.load_thread("C1", "1.0") is None and not store.has_thread("C1", "1.0")
    session = ThreadSession("C1", "1.0", messages=[{"role": "user", "content": "hi"}], context_ts="1.5")
    store.save_thread(session)
    loaded = store.load_thread("C1", "1.0")
    assert loaded.messages == [{"role": "user", "content": "hi"}] and loaded.context_ts == "1.5"
    assert store.has_thread("C1", "1.0")


def test_tool_calls_are_the_audit_trail():
    store = Store.memory()
    store.record_tool_call("r1", 0, "search_code", '{"pattern": "x"}', 12, True, None)
    store.record_tool_call("r1", 1, "read_file", "{}", 3, False, "no such file")
    calls = store.tool_calls("r1")
    assert [(c["name"], c["ok"], c["error"]) for c in calls] == [("search_code", 1, None),
                                                                  ("read_file", 0, "no such file")]


@pytest.mark.parametrize(("error", "why"), [
    (OSError(28, "No space left on device"), "the disk is full"),
    (sqlite3.OperationalError("database or disk is full"), "the disk is full"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "its folder is read-only"),
    (PermissionError(13, "Permission denied"), "its folder is read-only"),
])
def test_an_unusable_store_is_named_in_plain_words(tmp_path, error, why):
    message = StoreUnavailableError.about(tmp_path / "chatops.db", error).message
    assert message.startswith(f"I can't use my database at {tmp_path}/chatops.db: {why}.")
