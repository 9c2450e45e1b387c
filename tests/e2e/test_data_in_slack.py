"""Linked data in Slack: "why did signups drop?" answered with numbers, a chart, the SQL and the commit
behind it; with and without a model; metric names that need asking back; linking data sources."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import re
import sqlite3

import pytest

from bot.config import parse_data, parse_metrics
from sim.data import SAMPLE_METRICS, plant_release, seed_signups
from sim.github import GitHubEmulator
from sim.openai import Reply

TOKEN = "ghp_" + "data" * 9
PNG = b"\x89PNG\r\n\x1a\n"
TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture
async def gh():
    async with GitHubEmulator() as emulator:
        emulator.add_token(TOKEN, login="chatops-bot")
        emulator.create_repo("acme", "app", files={"README.md": "# app\n", "site/index.html": "<h1>Acme</h1>\n"})
        yield emulator


@pytest.fixture
def planted(tmp_path):
    return seed_signups(tmp_path / "data" / "app.db", today=TODAY)


def with_data(settings, tmp_path, metrics=SAMPLE_METRICS):
    problems: list[str] = []
    links = parse_data({"app": "data/app.db"}, tmp_path, "test", problems)
    catalog = parse_metrics(metrics, links, "test", problems)
    assert not problems
    return settings.replace(default_channel=dataclasses.replace(settings.default_channel, data=links,
                                                                  metrics=catalog))


@pytest.fixture
def settings(settings, tmp_path, gh, planted):
    return with_data(settings, tmp_path).replace(github_api_url=gh.api_url, github_token=TOKEN,
                                                 data_dir=tmp_path / "data")


@pytest.fixture
def no_model(settings):
    return settings.replace(model=None, openai_base_url=None, openai_api_key=None)


def files_in(slack, message) -> list[dict]:
    return [f for f in slack.workspace.files.values() if f.get("thread_ts") == message.ts]


async def test_without_a_model_a_metric_question_gets_numbers_a_chart_the_sql_and_the_commit(
        start_bot, no_model, slack, gh, planted):
    culprit = plant_release(gh, "acme", "app", planted)
    chat = await start_bot(settings_=no_model)
    chat.store.link_repo("C0GENERAL", "acme/app", f"{no_model.github_web_url}/acme/app.git", None, "U0ALICE")

    asked = await chat.say("alice", "#general", "@chatops why did signups drop?")
    assert await chat.finished(asked) == {"white_check_mark"}

    answer = chat.answer(asked)
    assert answer.startswith("**signups** fell −")
    assert "the last 7 days vs the 7 days before" in answer
    assert "**When:** it started around" in answer
    assert re.search(r"^1\. `platform=android & country=BR`: \*\*\d+%\*\* of the change", answer, re.M)
    assert f"[`{culprit[:7]}`]({no_model.github_web_url}/acme/app/commit/{culprit})" in answer
    assert "Show the consent screen before the Android signup form" in answer
    assert answer.index(culprit[:7]) < answer.index("Tighten page margins")  # ranked first
    assert "Shorten the README" not in answer  # two days after the onset: not a candidate
    assert "not proven causes" in answer
    assert "rows (" in answer and "data up to" in answer

    files = {f["name"]: f for f in files_in(slack, asked)}
    assert set(files) == {"signups-series.png", "signups-segments.png", "signups-queries.sql"}
    assert files["signups-series.png"]["content"].startswith(PNG)
    assert files["signups-segments.png"]["content"].startswith(PNG)
    sql = files["signups-queries.sql"]["content"].decode()
    assert "FROM signups" in sql and "GROUP BY" in sql and "(is_test = 0)" in sql


async def test_a_ratio_metric_names_the_segment_whose_rate_fell(start_bot, no_model):
    chat = await start_bot(settings_=no_model)
    asked = await chat.say("alice", "#general", "@chatops why did the conversion rate fall last 7 days?")
    assert await chat.finished(asked) == {"white_check_mark"}
    answer = chat.answer(asked)
    assert answer.startswith("**conversion** fell −")
    assert "1. `channel=ads`:" in answer and "its rate went 2" in answer


async def test_an_unknown_metric_gets_did_you_mean_and_no_retry(start_bot, no_model, slack):
    chat = await start_bot(settings_=no_model)
    asked = await chat.say("alice", "#general", "@chatops why did signupz drop last week?")
    assert await chat.finished(asked) == {"grey_question"}
    text = chat.progress_message(asked)["text"]
    assert "I don't know a metric called “signupz”. Did you mean `signups`" in text
    assert "retry_run" not in json.dumps(chat.progress_message(asked).get("blocks"))


async def test_an_ambiguous_metric_name_asks_which_one(start_bot, no_model, tmp_path):
    metrics = {
        "gross_revenue": {"synonyms": ["revenue"], "description": "Before refunds", "source": "app",
                          "table": "signups", "time": "created_at", "value": "count(*)"},
        "net_revenue": {"synonyms": ["revenue"], "description": "After refunds", "source": "app",
                        "table": "signups", "time": "created_at", "value": "count(*)"},
    }
    chat = await start_bot(settings_=with_data(no_model, tmp_path, metrics))
    asked = await chat.say("alice", "#general", "@chatops why did revenue drop yesterday?")
    assert await chat.finished(asked) == {"grey_question"}
    text = chat.progress_message(asked)["text"]
    assert "“revenue” could mean `gross_revenue` (Before refunds) or `net_revenue` (After refunds)" in text


def analyst(request: dict) -> Reply:
    """A model that explains the metric, then answers a follow-up with SQL."""
    messages = request["messages"]
    tools = [m for m in messages if m["role"] == "tool"]
    asked = [m for m in messages if m["role"] == "user"][-1]["content"]
    if "iOS" in asked:
        if not tools or tools[-1] is not messages[-1]:
            return Reply.tool_call("run_sql", {"source": "app", "sql": "SELECT platform, count(*) AS signups "
                                               "FROM signups WHERE platform = 'ios' GROUP BY platform"})
        return Reply.text(f"iOS is steady:\n```\n{tools[-1]['content']}\n```")
    if not tools:
        return Reply.tool_call("explain_metric", {"metric": "new users", "current": "last 7 days"})
    return Reply.text("Signups fell because Android signups in Brazil dropped; see the chart.\n\n"
                      + tools[-1]["content"].splitlines()[0])


async def test_with_a_model_the_agent_explains_and_follows_up_with_sql(start_bot, settings, model, slack):
    model.default = analyst
    chat = await start_bot(settings_=settings)
    asked = await chat.say("alice", "#general", "@chatops what happened to signups this week?")
    assert await chat.finished(asked) == {"white_check_mark"}
    answer = chat.answer(asked)
    assert "Android signups in Brazil" in answer and "**signups** fell −" in answer
    system = model.requests[0]["messages"][0]["content"]
    assert "`signups` (also: registrations, new users, sign ups)" in system
    assert "explain_metric" in {t["function"]["name"] for t in model.requests[0]["tools"]}
    assert {f["name"] for f in files_in(slack, asked)} == {"signups-series.png", "signups-segments.png",
                                                             "signups-queries.sql"}

    follow_up = await chat.say("alice", "#general", "what about iOS?", thread_ts=asked.ts)
    assert await chat.finished(follow_up) == {"white_check_mark"}
    reply = chat.answer(asked).split("iOS is steady:")[1]
    assert "platform | signups" in reply and "ios" in reply
    calls = [c["name"] for run in chat.runs_for(follow_up) for c in chat.store.tool_calls(run.id)]
    assert calls == ["run_sql"]
    receipts = [f for f in files_in(slack, asked) if f["name"].startswith("queries-")]
    assert receipts and "WHERE platform = 'ios'" in receipts[0]["content"].decode()


async def test_the_model_cannot_write_through_run_sql(start_bot, settings, model, tmp_path):
    model.script(Reply.tool_call("run_sql", {"source": "app", "sql": "DELETE FROM signups"}),
                 Reply.tool_call("run_sql", {"source": "app", "sql": "SELECT 1; DROP TABLE signups"}),
                 Reply.text("I can only read."))
    before = (tmp_path / "data" / "app.db").read_bytes()
    chat = await start_bot(settings_=settings)
    asked = await chat.say("alice", "#general", "@chatops delete all signups")
    assert await chat.finished(asked) == {"white_check_mark"}
    results = [m["content"] for m in model.requests[-1]["messages"] if m["role"] == "tool"]
    assert "only SELECT queries are allowed (this is DELETE)" in results[0]
    assert "exactly one statement (got 2)" in results[1]
    assert (tmp_path / "data" / "app.db").read_bytes() == before


async def test_linking_a_data_source_from_slack(chat, slack, tmp_path):
    said = (await slack.slash("alice", "#general", "/chatops", "link data shop app.db")).response
    assert said["text"] == "Checking that I can read `app.db`…"
    linked = await slack.wait_for(
        lambda: [r for r in slack.responses if "linked data source" in r["body"].get("text", "")])
    assert linked[0]["body"]["response_type"] == "in_channel"
    assert "*shop* (sqlite, read-only) to this channel: 2 table(s): `signups`, `visits`" in linked[0]["body"]["text"]
    assert "• `shop` — sqlite" in (await slack.slash("bob", "#general", "/chatops", "links")).response["text"]

    await slack.slash("alice", "#general", "/chatops", f"link data secrets {tmp_path / 'home' / 'chatops.db'}")
    outside = await slack.wait_for(lambda: [r for r in slack.responses if "data folder" in r["body"].get("text", "")])
    assert outside[0]["body"]["response_type"] == "ephemeral"
    await slack.slash("alice", "#general", "/chatops", "link data wh postgresql://reader:hunter22@db/wh")
    leak = await slack.wait_for(lambda: [r for r in slack.responses if "password" in r["body"].get("text", "")])
    assert "hunter22" not in leak[0]["body"]["text"] and "CHATOPS_DATA_PASSWORD_" in leak[0]["body"]["text"]
    await slack.slash("alice", "#general", "/chatops", "link data pg postgresql://reader@127.0.0.1:1/wh")
    refused = await slack.wait_for(
        lambda: [r for r in slack.responses if "allowlist" in r["body"].get("text", "")])
    assert "`CHATOPS_DATA_HOSTS`" in refused[0]["body"]["text"] and "`127.0.0.1:1` is not" in refused[0]["body"]["text"]

    gone = (await slack.slash("alice", "#general", "/chatops", "unlink data shop")).response
    assert gone["text"] == "Unlinked data source *shop* from this channel."
    metrics = (await slack.slash("bob", "#general", "/chatops", "metrics")).response["text"]
    assert "• *signups* (also: registrations, new users, sign ups)" in metrics


async def test_a_missing_data_file_is_a_plain_message_with_retry(start_bot, no_model, tmp_path):
    (tmp_path / "data" / "app.db").unlink()
    chat = await start_bot(settings_=no_model)
    asked = await chat.say("alice", "#general", "@chatops why did signups drop?")
    assert await chat.finished(asked) == {"x"}
    progress = chat.progress_message(asked)
    assert "The data source `app` (sqlite) could not be reached: there is no file at" in progress["text"]
    assert "Traceback" not in progress["text"] and "retry_run" in json.dumps(progress["blocks"])


async def test_the_same_question_over_csv_files_goes_through_duckdb(start_bot, no_model, slack, tmp_path):
    """A folder of CSV exports is one DuckDB view per file; the analysis takes DuckDB's plan (leaves,
    then the series with the dominant segment's beside it) and reaches the same answer."""
    folder = tmp_path / "exports"
    folder.mkdir()
    with sqlite3.connect(tmp_path / "data" / "app.db") as conn:
        for table in ("signups", "visits"):
            cursor = conn.execute(f"SELECT * FROM {table}")
            with (folder / f"{table}.csv").open("w", newline="") as out:
                writer = csv.writer(out)
                writer.writerow([d[0] for d in cursor.description])
                writer.writerows(cursor)
    problems: list[str] = []
    links = parse_data({"app": "exports"}, tmp_path, "test", problems)
    catalog = parse_metrics(SAMPLE_METRICS, links, "test", problems)
    assert not problems
    csv_settings = no_model.replace(default_channel=dataclasses.replace(no_model.default_channel, data=links,
                                                                          metrics=catalog))
    chat = await start_bot(settings_=csv_settings)
    asked = await chat.say("alice", "#general", "@chatops why did signups drop?")
    assert await chat.finished(asked) == {"white_check_mark"}
    answer = chat.answer(asked)
    assert answer.startswith("**signups** fell −") and "(duckdb)" in answer
    assert re.search(r"^1\. `platform=android & country=BR`: \*\*\d+%\*\* of the change", answer, re.M)
    assert "**When:** it started around" in answer
    sql = {f["name"]: f for f in files_in(slack, asked)}["signups-queries.sql"]["content"].decode()
    assert "per segment in each window" in sql and "CASE WHEN" in sql


async def test_a_check_meant_for_the_model_reaches_a_person_as_a_plain_finding(start_bot, no_model, tmp_path):
    with sqlite3.connect(tmp_path / "data" / "app.db") as conn:
        conn.execute("ALTER TABLE signups RENAME TO old_signups")
    chat = await start_bot(settings_=no_model)
    asked = await chat.say("alice", "#general", "@chatops why did signups drop?")
    assert await chat.finished(asked) == {"x"}
    text = chat.progress_message(asked)["text"]
    assert "I couldn't finish this: SQLite refused the query: no such table: signups." in text
    assert "something went wrong" not in text and "Traceback" not in text
