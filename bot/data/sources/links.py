"""From a linked data source's URL to a read-only `DataSource`.

URLs follow SQLAlchemy's format; a bare path works too:
  sqlite:///data/app.db  (relative)   sqlite:////srv/app.db  (absolute)   data/app.db
  duckdb:///warehouse.duckdb          data/events.parquet    data/exports/  (a folder of CSV/Parquet/JSON)
  postgresql://reader@db.internal:5432/analytics   (password: CHATOPS_DATA_PASSWORD_<NAME>, or ~/.pgpass)
A password written into a URL is refused: URLs are shown in Slack and kept in files.

Passwords belong to the admin: one set as CHATOPS_DATA_PASSWORD_<NAME> is only ever sent to the
server of the source `<NAME>` as chatops.yml declares it (host, port, database, user, and the TLS
settings in its URL, e.g. `?sslmode=verify-full`). A link made from Slack never gets a password,
nor ~/.pgpass (libpq is pointed at an empty password file), nor any connection option of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.data.sources.duckdb_source import FILE_READERS, DuckDBSource
from bot.data.sources.postgres_source import PostgresSource
from bot.data.sources.source import DataSource, QueryLimits
from bot.data.sources.sqlite_source import SQLiteSource
from bot.errors import UserError

SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
DUCKDB_SUFFIXES = (".duckdb", *FILE_READERS)
PASSWORD_PREFIX = "CHATOPS_DATA_PASSWORD_"


class DataLinkError(UserError):
    """A URL or path that is not a data source we can link; the message, written for people, says why.
    Callers put it after "I can't link that: " or a chatops.yml location."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="data")


@dataclass(frozen=True)
class DataLink:
    """A data source as linked to a channel: a name people use, and where it is."""

    name: str
    url: str
    base_dir: Path = Path(".")  # relative paths start here: chatops.yml's folder, or CHATOPS_DATA_DIR
    origin: str = "chatops.yml"  # or "slack" for /chatops link data

    @property
    def target(self) -> Target:
        return parse_target(self.url, self.base_dir)

    @property
    def password_variable(self) -> str:
        return PASSWORD_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", self.name).upper()

    @property
    def declared_by_admin(self) -> bool:
        """From chatops.yml (trusted), as opposed to `/chatops link data` (anyone in a channel)."""
        return self.origin == "chatops.yml"

    def password(self, passwords: Mapping[str, str]) -> str | None:
        """The admin's password for this source, only when the admin declared the source itself."""
        return passwords.get(self.password_variable) if self.declared_by_admin else None


@dataclass(frozen=True)
class Target:
    engine: str  # sqlite | duckdb | postgresql
    path: Path | None = None
    url: URL | None = None


def parse_target(url: str, base_dir: Path) -> Target:
    """Where `url` points; `DataLinkError` with a readable reason when it is not a supported source."""
    text = url.strip()
    if "://" not in text:
        return _file_target(_resolve(text, base_dir), url)
    try:
        parsed = make_url(text)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number (int() on what follows `:`)
        raise DataLinkError(f"`{url}` is not a database URL (e.g. sqlite:///data/app.db, "
                            "postgresql://user@host:5432/dbname)") from None
    backend = parsed.get_backend_name()
    if parsed.password:
        raise DataLinkError("do not put a password in the URL (it would be shown and stored); set it in the "
                            f"environment as {PASSWORD_PREFIX}<NAME> instead")
    if backend == "sqlite":
        return Target("sqlite", path=_resolve(parsed.database or "", base_dir))
    if backend == "duckdb":
        return Target("duckdb", path=_resolve(parsed.database or "", base_dir))
    if backend in ("postgresql", "postgres"):
        if not parsed.database:
            raise DataLinkError(f"`{url}` names no database (postgresql://user@host:5432/dbname)")
        return Target("postgresql", url=parsed)
    raise DataLinkError(f"`{backend}` is not supported; link SQLite, DuckDB (CSV/Parquet) or PostgreSQL")


def _file_target(path: Path, url: str) -> Target:
    suffix = path.suffix.lower()
    if suffix in SQLITE_SUFFIXES:
        return Target("sqlite", path=path)
    if suffix in DUCKDB_SUFFIXES or path.is_dir():
        return Target("duckdb", path=path)
    raise DataLinkError(f"`{url}`: a path must end in {', '.join(SQLITE_SUFFIXES + DUCKDB_SUFFIXES)} or be a "
                        "folder of data files; or write a URL such as sqlite:///path")


def _resolve(path: str, base_dir: Path) -> Path:
    if not path or path == ":memory:":
        raise DataLinkError("a data source needs a file or folder, not an in-memory database")
    try:
        candidate = Path(path).expanduser()
    except RuntimeError:  # ~someone, and there is no such user
        raise DataLinkError(f"`{path}` starts with a home folder that does not exist here") from None
    return candidate if candidate.is_absolute() else (base_dir / candidate)


def open_source(link: DataLink, target: Target, limits: QueryLimits, *, passwords: Mapping[str, str] | None = None,
                cache_dir: Path | None = None) -> DataSource:
    """A read-only source for `link`; `passwords` are the admin's (CHATOPS_DATA_PASSWORD_*), used only as
    `DataLink.password` allows."""
    if target.engine == "sqlite" and target.path:
        return SQLiteSource(link.name, target.path, limits)
    if target.engine == "duckdb" and target.path:
        return DuckDBSource(link.name, target.path, limits, cache_dir=cache_dir)
    assert target.url is not None
    url = target.url
    # The admin's connection options (sslmode, ...) for a declared source; none for one linked from Slack,
    # which also gets an empty password file so libpq cannot fall back to the bot's ~/.pgpass.
    options = {k: str(v) for k, v in url.query.items()} if link.declared_by_admin else {"passfile": "/dev/null"}
    conninfo = make_conninfo(host=url.host or "", port=str(url.port or ""), user=url.username or "",
                             dbname=url.database or "", **options)
    display = url.set(drivername="postgresql", query={}).render_as_string(hide_password=True)
    return PostgresSource(link.name, conninfo, display, limits, password=link.password(passwords or {}))
