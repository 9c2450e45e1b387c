"""The parser layer of read-only SQL: exactly one SELECT (or UNION/INTERSECT/EXCEPT), nothing else.

This is the first of two layers. It gives the model a precise reason it can act on; the database
connection (bot/data/sources/) enforces read-only on its own, so a statement this check
missed still cannot write. Both layers are tested separately against the same attack corpus.
"""

from __future__ import annotations

import logging
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError

from bot.errors import SkillError

log = logging.getLogger(__name__)

# Statement kinds that are never a read, wherever they appear in the tree.
_FORBIDDEN = tuple(getattr(exp, name) for name in (
    "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "TruncateTable", "Command", "Pragma",
    "Transaction", "Commit", "Rollback", "Set", "Attach", "Detach", "Copy", "Install", "Use", "LoadData",
    "Grant", "Revoke", "Analyze", "Into", "Lock", "Export", "Kill", "Cache", "Uncache", "Refresh",
) if hasattr(exp, name))

# Functions that read files, reach other servers, change settings or stall the server.
_FORBIDDEN_FUNCTION = re.compile(
    r"^(read_\w+|\w+_scan|glob|sniff_csv|parquet_\w+|load_extension|readfile|writefile|edit|fts\w*"
    r"|pg_read_\w+|pg_ls_\w+|pg_stat_file|lo_\w+|dblink\w*|set_config|pg_sleep\w*|pg_terminate_backend"
    r"|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile|query|query_table|getenv|current_setting)$"
)
_FILE_LIKE_TABLE = re.compile(r"[/\\]|\.(csv|tsv|txt|json|ndjson|jsonl|parquet|gz|zst|db|duckdb|sqlite3?)$", re.I)


def guard_select(sql: str, dialect: str, max_rows: int) -> str:
    """Return `sql` as one read-only query with its LIMIT at most `max_rows + 1`; raise SkillError otherwise.

    The extra row lets the caller tell "exactly max_rows" from "truncated".
    """
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise SkillError("the SQL is empty; send one SELECT statement")
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect, error_level=ErrorLevel.RAISE) if s is not None]
    except (ParseError, TokenError) as exc:
        raise SkillError(f"the SQL does not parse as {dialect}: {_first_line(exc)}") from None
    except Exception:  # sqlglot itself crashes on some junk (AttributeError, IndexError, RecursionError)
        log.warning("sqlglot crashed parsing a query as %s; told the model it does not parse", dialect, exc_info=True)
        raise SkillError(f"the SQL does not parse as {dialect}; send one SELECT statement") from None
    if len(statements) != 1:
        raise SkillError(f"send exactly one statement (got {len(statements)}); no `;`-separated batches")
    tree = statements[0]
    if not isinstance(tree, exp.Select | exp.SetOperation):
        raise SkillError(f"only SELECT queries are allowed (this is {_kind(tree)}); the data is read-only")
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN):
            raise SkillError(f"`{_kind(node)}` is not allowed inside a query; the data is read-only")
        if isinstance(node, exp.Func) and _FORBIDDEN_FUNCTION.match(_function_name(node)):
            raise SkillError(f"the function `{_function_name(node)}` is not allowed: it reaches outside the data")
        if isinstance(node, exp.Table) and _FILE_LIKE_TABLE.search(node.name or ""):
            raise SkillError(f"`{node.name}` looks like a file path; query the source's tables instead")
    if _limit_within(tree, max_rows + 1):
        return text  # unchanged: the engine runs exactly what was written
    limited = tree.limit(max_rows + 1, copy=True).sql(dialect=dialect)
    if not _is_one_query(limited, dialect):  # e.g. `select` with no columns becomes `SELECT LIMIT 101`
        raise SkillError("the SQL could not be given a LIMIT; name the columns to select and send one SELECT")
    return limited


def _is_one_query(sql: str, dialect: str) -> bool:
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.RAISE) if s is not None]
    except (ParseError, TokenError):
        return False
    except Exception:  # sqlglot crashed on SQL it wrote itself
        log.warning("sqlglot crashed re-parsing its own %s SQL", dialect, exc_info=True)
        return False
    return len(statements) == 1 and isinstance(statements[0], exp.Select | exp.SetOperation)


def _limit_within(tree: exp.Expression, cap: int) -> bool:
    """True when the query already returns at most `cap` rows by its own LIMIT (or uses FETCH FIRST)."""
    limit = tree.args.get("limit")
    if limit is None:
        return tree.args.get("fetch") is not None  # FETCH FIRST n ROWS: the engine's row cap still applies
    current = limit.expression if isinstance(limit, exp.Limit) else None
    return isinstance(current, exp.Literal) and current.is_int and int(current.this) <= cap


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def _kind(node: exp.Expr) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    return re.sub(r"(?<!^)(?=[A-Z])", " ", type(node).__name__).upper()


def _first_line(exc: Exception) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
