"""The database layer alone (`execute`, no parser) on each engine: read-only, time-limited, row-capped.

Every engine gets the attack corpus of test_guard.py with the parser bypassed; the data (file bytes,
or PostgreSQL's rows, objects and large objects) must be the same afterwards, and nothing may appear
in the scratch folder the attacks aim at.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import psycopg
import pytest

from bot.data.sources.duckdb_source import DuckDBSource
from bot.data.sources.source import QueryTimeoutError
from bot.data.sources.sqlite_source import SQLiteSource
from bot.errors import SkillError, UserError
from tests.data.attacks import ATTACKS
from tests.data.conftest import (
    LIMITS,
    MAX_ROWS,
    ORDER_COUNT,
    PG_DATABASE,
    READER_PASSWORD,
    postgres_source_for,
)

# Statements an engine runs without error on its read-only connection; they must still change nothing.
# - DuckDB: BEGIN and VACUUM are no-ops on a read-only database.
# - PostgreSQL: set_config changes the session default, but this transaction is already READ ONLY and the
#   session ends with the query. A READ ONLY transaction may create a large object (PostgreSQL does not
#   count it as a write); the bot rolls every transaction back, so none is kept (postgres_state counts them).
ACCEPTED_WITHOUT_EFFECT = {
    "duckdb": {"begin", "vacuum"},
    "csv": {"begin", "vacuum"},
    "postgresql": {"set_config", "large object write"},
}
RECURSION = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


@pytest.mark.parametrize("name", ATTACKS)
def test_every_write_and_escape_fails_at_the_database_alone_and_changes_nothing(engine, name, tmp_path):
    sql = ATTACKS[name].format(scratch=tmp_path)
    before = engine.state()
    if name in ACCEPTED_WITHOUT_EFFECT.get(engine.name, ()):
        with contextlib.suppress(SkillError):
            engine.source.execute(sql, timeout=0.25)
    else:
        with pytest.raises(SkillError):  # a timeout (pg_sleep) is a SkillError too
            engine.source.execute(sql, timeout=0.25)
    assert engine.state() == before
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sql", [
    "select * from read_csv('/etc/passwd')",
    "copy (select 'planted' as id) to '{csv}'",
    "copy orders to '{scratch}/stolen.csv'",
    "attach '{scratch}/evil.duckdb' as evil",
    "install httpfs",
    "set enable_external_access = true",
])
def test_duckdb_over_csv_reads_only_its_own_file(csv_source, csv_path, sql, tmp_path):
    before = csv_path.read_bytes()
    with pytest.raises(SkillError, match=r"Permission Error|locked|disabled"):
        csv_source.execute(sql.format(csv=csv_path, scratch=tmp_path))
    assert csv_path.read_bytes() == before
    assert list(tmp_path.iterdir()) == []


def test_a_folder_source_cannot_read_files_beside_its_own(folder_source, csv_folder, tmp_path):
    (tmp_path / "secret.csv").write_text("token\nxoxb-not-for-the-bot\n")
    with pytest.raises(SkillError, match="Permission Error"):
        folder_source.execute(f"select * from read_csv('{tmp_path / 'secret.csv'}')")
    with pytest.raises(SkillError, match="Permission Error"):
        folder_source.execute(f"select * from read_csv('{csv_folder}/../**/*.csv')")


def test_stacked_statements_are_refused_by_each_engine_itself(engine):
    with pytest.raises(SkillError, match=r"one statement|multiple commands"):
        engine.source.execute("select count(*) from orders; select 1")


def test_the_reader_role_cannot_write_even_outside_a_read_only_transaction(postgres):
    with psycopg.connect(host="127.0.0.1", port=postgres.port, user="reader", dbname=PG_DATABASE,
                         password=READER_PASSWORD, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("insert into orders values (0, 'x', 1)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("create table planted (x int)")


def test_a_runaway_recursive_query_is_stopped_at_its_time_limit(engine):
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError, match="1 s limit"):
        engine.source.execute(RECURSION, timeout=1)
    assert time.monotonic() - started < 3


def test_a_large_result_is_capped_at_max_rows_and_marked_truncated(engine):
    result = engine.source.execute("select id from orders where id <= 10000 order by id")
    assert len(result.rows) == MAX_ROWS
    assert result.truncated is True
    assert result.rows[-1] == (MAX_ROWS,)
    assert result.columns == ("id",)


def test_a_result_of_exactly_max_rows_is_not_truncated(engine):
    result = engine.source.execute(f"select id from orders where id <= {MAX_ROWS}")
    assert len(result.rows) == MAX_ROWS
    assert result.truncated is False


def test_a_smaller_max_rows_applies_per_call(engine):
    result = engine.source.execute("select id from orders", max_rows=3)
    assert len(result.rows) == 3 and result.truncated is True


def test_both_layers_together_answer_a_good_question(engine):
    result = engine.source.query("select customer, count(*) as n, sum(amount) as total from orders "
                                 "group by customer order by customer")
    assert result.columns == ("customer", "n", "total")
    assert len(result.rows) == 97 and result.truncated is False
    assert sum(n for _, n, _ in result.rows) == ORDER_COUNT
    assert result.ms > 0


def test_both_layers_together_clamp_an_unlimited_query(engine):
    result = engine.source.query("with o as (select id, row_number() over (order by id desc) as r from orders) "
                                 "select id, r from o order by r")
    assert len(result.rows) == MAX_ROWS and result.truncated is True
    assert result.rows[0] == (ORDER_COUNT, 1)
    assert result.sql.endswith(f"LIMIT {MAX_ROWS + 1}")


def test_both_layers_together_refuse_a_write_before_it_reaches_the_database(engine):
    with pytest.raises(SkillError, match="only SELECT"):
        engine.source.query("delete from orders")


def test_tables_and_columns_are_listed(engine):
    assert engine.source.tables() == ["orders"]
    assert [c.name for c in engine.source.columns("orders")] == ["id", "customer", "amount"]
    assert [c.name for c in engine.source.columns("ORDERS")] == ["id", "customer", "amount"]
    with pytest.raises(SkillError, match=r"no table `planted`.*orders"):
        engine.source.columns("planted")


def test_a_folder_of_files_is_one_view_per_file(folder_source):
    assert folder_source.tables() == ["customers", "orders"]
    assert [c.name for c in folder_source.columns("customers")] == ["name", "country"]
    joined = folder_source.query("select c.country, count(*) from orders o join customers c on c.name = o.customer "
                                 "group by c.country order by c.country")
    assert joined.rows == [("FR", 207), ("NL", 207)]


def _assert_plain_data_error(exc: UserError, *secrets: str) -> None:
    assert exc.kind == "data" and exc.retryable
    for leak in ("Traceback", "Error:", "FATAL", "psycopg", "sqlite3", "connection to server", "\n", *secrets):
        assert leak not in exc.message
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)  # no chained error


@pytest.mark.parametrize("make", [
    lambda tmp: SQLiteSource("gone", tmp / "missing.db", LIMITS),
    lambda tmp: DuckDBSource("gone", tmp / "missing.duckdb", LIMITS, cache_dir=tmp / "views"),
    lambda tmp: DuckDBSource("gone", tmp / "missing-folder", LIMITS, cache_dir=tmp / "views"),
], ids=["sqlite file", "duckdb file", "folder"])
def test_a_missing_file_is_a_plain_retryable_data_error(make, tmp_path):
    with pytest.raises(UserError, match="could not be reached") as caught:
        make(tmp_path).execute("select 1")
    _assert_plain_data_error(caught.value)
    assert not (tmp_path / "missing.db").exists()  # opening read-only never creates the file


def test_a_postgres_with_nothing_listening_is_a_plain_retryable_data_error(postgres):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    source = postgres_source_for(postgres, url=f"postgresql://reader@127.0.0.1:{closed_port}/{PG_DATABASE}")
    started = time.monotonic()
    with pytest.raises(UserError, match="nothing is listening") as caught:
        source.execute("select 1")
    assert time.monotonic() - started < 3
    _assert_plain_data_error(caught.value, str(closed_port))


def test_a_wrong_postgres_password_is_a_plain_retryable_data_error(postgres):
    with pytest.raises(UserError, match="refused the login") as caught:
        postgres_source_for(postgres, password="not-the-password").tables()
    _assert_plain_data_error(caught.value, "not-the-password")


def test_a_missing_postgres_password_says_so(postgres, monkeypatch, tmp_path):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    with pytest.raises(UserError, match="none is set") as caught:
        postgres_source_for(postgres, password=None).tables()
    _assert_plain_data_error(caught.value)


def test_the_linked_url_is_shown_and_kept_without_the_password(postgres_source, postgres):
    assert postgres_source.location == f"postgresql://reader@127.0.0.1:{postgres.port}/{PG_DATABASE}"
    assert READER_PASSWORD not in postgres_source.conninfo


def test_a_corrupt_duckdb_file_or_csv_is_a_plain_error_that_retry_will_not_fix(tmp_path):
    (tmp_path / "bad.duckdb").write_bytes(b"this is not a database" * 100)
    with pytest.raises(UserError, match=r"the file is not a DuckDB database\. Fix the source") as caught:
        DuckDBSource("bad", tmp_path / "bad.duckdb", LIMITS, cache_dir=tmp_path / "views").tables()
    message = caught.value.message
    assert not caught.value.retryable and "IO Error" not in message and str(tmp_path) not in message


@pytest.mark.parametrize("source_name", ["duckdb_source", "csv_source", "sqlite_source"])
def test_concurrent_queries_on_one_source_all_succeed_and_a_runaway_stops_alone(source_name, request):
    """Two people asking at once: DuckDB shares one instance per file in a process, so a second
    connection must not try to re-apply the locked settings; a timeout interrupts only its own query."""
    source = request.getfixturevalue(source_name)
    table = source.tables()[0]
    results: list[object] = []

    def ask(runaway: bool) -> None:
        try:
            if runaway:
                source.execute(RECURSION, timeout=1)
            else:
                with source.session():
                    for _ in range(5):
                        results.append(len(source.execute(f"SELECT * FROM {table}", timeout=20).rows))
        except Exception as exc:  # collected and asserted below
            results.append(exc)

    threads = [threading.Thread(target=ask, args=(i == 0,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timeouts = [r for r in results if isinstance(r, QueryTimeoutError)]
    assert len(timeouts) == 1 and all(isinstance(r, int) and r > 0 for r in results if r not in timeouts)
    assert len(results) == 26
