"""The parser layer alone: `guard_select` lets through one read-only query and nothing else.

The same attack corpus is sent to each database with the parser bypassed in test_readonly_database.py;
each layer has to stop it on its own.
"""

from __future__ import annotations

import logging

import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from bot.data.sources.guard import guard_select
from bot.errors import SkillError
from tests.data.attacks import ATTACKS

DIALECTS = ["sqlite", "duckdb", "postgres"]
MAX_ROWS = 100

NOT_SQL = {"empty": "", "only whitespace and semicolons": "  ;  ; "}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("sql", [*ATTACKS.values(), *NOT_SQL.values()], ids=[*ATTACKS, *NOT_SQL])
def test_the_parser_alone_refuses_every_write_and_escape(sql, dialect):
    with pytest.raises(SkillError):
        guard_select(sql.format(scratch="/tmp/chatops-test"), dialect, MAX_ROWS)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("sql", [
    "with big as (select * from orders where amount > 10) select customer, count(*) from big group by customer",
    "select id from orders where id < 10 union select id from orders where id > 19990",
    "select id, sum(amount) over (partition by customer order by id) as running from orders",
    "select customer, rank() over (order by sum(amount) desc) from orders group by customer",
    "select count(*) from orders o join orders p on p.id = o.id + 1",
])
def test_read_only_queries_pass_with_their_limit_clamped(sql, dialect):
    guarded = guard_select(sql, dialect, MAX_ROWS)
    tree = sqlglot.parse_one(guarded, read=dialect)
    assert isinstance(tree, exp.Select | exp.SetOperation)
    assert tree.args["limit"].expression.this == str(MAX_ROWS + 1)


def test_a_limit_within_the_cap_is_kept_as_written():
    sql = "select id from orders order by id limit 10"
    assert guard_select(sql, "sqlite", MAX_ROWS) == sql
    assert guard_select(f"select id from orders limit {MAX_ROWS + 1}", "sqlite", MAX_ROWS).endswith("101")


@pytest.mark.parametrize("sql", ["select id from orders", "select id from orders limit 5000"])
def test_a_missing_or_too_large_limit_becomes_max_rows_plus_one(sql):
    guarded = guard_select(sql, "sqlite", MAX_ROWS)
    assert guarded == f"SELECT id FROM orders LIMIT {MAX_ROWS + 1}"


def test_a_trailing_semicolon_is_not_a_second_statement():
    assert guard_select("select 1 from orders limit 1;", "sqlite", MAX_ROWS) == "select 1 from orders limit 1"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_semicolons_and_keywords_inside_a_string_literal_are_just_text(dialect):
    guarded = guard_select("select '; drop table orders; --' as note from orders", dialect, MAX_ROWS)
    tree = sqlglot.parse_one(guarded, read=dialect)
    assert tree.find(exp.Literal).this == "; drop table orders; --"


def test_the_refusal_tells_the_model_what_to_change():
    with pytest.raises(SkillError, match="exactly one statement"):
        guard_select("select 1; select 2", "sqlite", MAX_ROWS)
    with pytest.raises(SkillError, match="read-only"):
        guard_select("delete from orders", "sqlite", MAX_ROWS)
    with pytest.raises(SkillError, match="pg_sleep"):
        guard_select("select pg_sleep(5)", "postgres", MAX_ROWS)


@pytest.mark.parametrize("sql", [
    "select",  # once rewritten as `SELECT LIMIT 101`, which no parser reads back
    "select 1 union select",
    "H\x91s\x1e[-\t",  # sqlglot's duckdb reader raised AttributeError on this
    "{ delete { { recursive { = limit -1",  # and IndexError / AttributeError on these
    ":x [ [ values :x [",
    "select " + "(" * 3000 + "1" + ")" * 3000,  # RecursionError
])
@pytest.mark.parametrize("dialect", DIALECTS)
def test_text_that_crashes_or_fools_the_parser_is_refused_not_raised(sql, dialect):
    with pytest.raises(SkillError):
        guard_select(sql, dialect, MAX_ROWS)


SQL_WORDS = ["select", "from", "where", "limit", "union", "all", "with", "recursive", "as", "(", ")", ";", ",",
             "*", "1", "'a'", "x", "orders", "into", "for", "update", "delete", "insert", "values", "order", "by",
             "over", "join", "on", "=", "--", "/*", "*/", '"', "'", "?", "$1", ":x", "offset", "fetch", "first",
             "rows", "only", "distinct", "pragma", "attach", "copy", "to", "returning", "except", "[", "{", "::"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sql=st.one_of(st.text(max_size=60), st.lists(st.sampled_from(SQL_WORDS), max_size=12).map(" ".join)),
       dialect=st.sampled_from(DIALECTS))
def test_any_text_is_refused_or_becomes_exactly_one_query(sql, dialect):
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to parsing as a Command" is noise here
    try:
        guarded = guard_select(sql, dialect, MAX_ROWS)
    except SkillError:
        return
    statements = [s for s in sqlglot.parse(guarded, read=dialect) if s is not None]
    assert len(statements) == 1
    assert isinstance(statements[0], exp.Select | exp.SetOperation)
