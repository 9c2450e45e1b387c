"""The three error kinds reach Slack as they should: our own input checks as plain words written for
people, and anything else as a short apology, with the traceback in the log and none of its text
in Slack."""

from __future__ import annotations

import logging
import sqlite3

from bot.config import parse_data
from bot.store.sqlite import Store

LEAKS = ("invalid literal", "int()", "ValueError", "Traceback", "ProgrammingError", "invalid connection option",
         "database is locked", "OperationalError")


def leaked(text: str) -> list[str]:
    return [leak for leak in LEAKS if leak in text]


async def link_reply(slack, text: str) -> dict:
    """The ephemeral or in-channel answer to `/chatops <text>`, after its "Checking…" ack."""
    before = len(slack.responses)
    await slack.slash("alice", "#general", "/chatops", text)
    [reply] = await slack.wait_for(lambda: slack.responses[before:])
    return reply["body"]


async def test_a_url_with_junk_for_a_port_is_a_plain_answer_not_the_exception_text(chat, slack):
    reply = await link_reply(slack, "link data x postgresql://u@h:notaport/db")
    assert reply["text"] == ("I can't link that: `postgresql://u@h:notaport/db` is not a database URL "
                             "(e.g. sqlite:///data/app.db, postgresql://user@host:5432/dbname).")
    assert reply["response_type"] == "ephemeral" and not leaked(reply["text"])


class FullStore(Store):
    """A store that cannot save a new link (its disk gave out)."""

    def link_data(self, channel: str, name: str, url: str, user: str) -> None:
        raise sqlite3.OperationalError("disk I/O error")


async def test_an_unexpected_failure_while_linking_is_an_apology_and_a_logged_traceback(start_bot, settings, slack,
                                                                                       caplog):
    """The store failing under a link is not one of our checks: an apology, and the traceback in the log."""
    settings.data_folder.mkdir(parents=True)
    sqlite3.connect(settings.data_folder / "app.db").execute("CREATE TABLE t (x)").connection.close()
    await start_bot(store=FullStore.open(settings.db_path))
    with caplog.at_level(logging.ERROR, logger="handlers.commands"):
        reply = await link_reply(slack, "link data x app.db")
    assert reply["text"] == "Sorry, linking failed on my side; it is logged."
    assert not leaked(reply["text"]) and "disk I/O" not in reply["text"]
    [record] = [r for r in caplog.records if r.name == "handlers.commands"]
    assert record.exc_info is not None and "disk I/O error" in str(record.exc_info[1])


class LockedStore(Store):
    """A store whose links cannot be read (another process holds the database)."""

    def repo_links(self, channel: str) -> list:
        raise sqlite3.OperationalError("database is locked")


async def test_a_bug_behind_a_command_is_an_apology_and_a_logged_traceback(start_bot, settings, slack, caplog):
    await start_bot(store=LockedStore.open(settings.db_path))
    with caplog.at_level(logging.ERROR, logger="handlers.commands"):
        said = (await slack.slash("alice", "#general", "/chatops", "links")).response
    assert said["text"] == "Sorry, that failed on my side; it is logged."
    [record] = [r for r in caplog.records if r.name == "handlers.commands"]
    assert record.exc_info is not None and isinstance(record.exc_info[1], sqlite3.OperationalError)


def test_chatops_yml_names_a_bad_url_in_words_written_for_people(tmp_path):
    problems: list[str] = []
    raw = {"wh": "postgresql://u@h:notaport/db", "mem": "sqlite://", "home": "~nosuchuser-chatops/app.db"}
    assert parse_data(raw, tmp_path, "defaults.data", problems) == ()
    assert problems == [
        "defaults.data.wh: `postgresql://u@h:notaport/db` is not a database URL (e.g. sqlite:///data/app.db, "
        "postgresql://user@host:5432/dbname).",
        "defaults.data.mem: a data source needs a file or folder, not an in-memory database.",
        "defaults.data.home: `~nosuchuser-chatops/app.db` starts with a home folder that does not exist here.",
    ]
