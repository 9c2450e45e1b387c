"""Read-only data sources on real engines: SQLite, DuckDB (a database file, a CSV file, a folder of files)
and a real PostgreSQL server, each holding the same `orders` table of 20,000 rows.

The files and the server are built once per session: every test here proves that nothing can change
them, and checks that by fingerprinting the data after each attack.
"""

from __future__ import annotations

import csv
import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from bot.data.sources.duckdb_source import DuckDBSource
from bot.data.sources.links import DataLink, open_source, parse_target
from bot.data.sources.source import DataSource, QueryLimits
from bot.data.sources.sqlite_source import SQLiteSource
from sim.postgres import LocalPostgres, find_postgres_bin

ORDER_COUNT = 20_000
MAX_ROWS = 100
LIMITS = QueryLimits(timeout=5.0, max_rows=MAX_ROWS)
READER_PASSWORD = "reader-test-password"
PG_DATABASE = "shop"


def order_rows() -> list[tuple[int, str, float]]:
    return [(i, f"customer-{i % 97}", round(i * 1.25, 2)) for i in range(1, ORDER_COUNT + 1)]


def fingerprint(path: Path) -> str:
    """A hash of every byte under `path` (a file or a folder), to prove an attack changed nothing."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def sqlite_path(data_dir) -> Path:
    (data_dir / "sqlite").mkdir()
    path = data_dir / "sqlite" / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, amount REAL NOT NULL)")
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)", order_rows())
    conn.close()
    return path


@pytest.fixture(scope="session")
def sqlite_source(sqlite_path) -> SQLiteSource:
    return SQLiteSource("shop", sqlite_path, LIMITS)


@pytest.fixture(scope="session")
def duckdb_path(data_dir) -> Path:
    (data_dir / "duckdb").mkdir()
    path = data_dir / "duckdb" / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute(f"CREATE TABLE orders AS SELECT i::INTEGER AS id, 'customer-' || (i % 97) AS customer, "
                     f"round(i * 1.25, 2)::DOUBLE AS amount FROM range(1, {ORDER_COUNT + 1}) t(i)")
    return path


@pytest.fixture(scope="session")
def duckdb_source(duckdb_path, tmp_path_factory) -> DuckDBSource:
    return DuckDBSource("warehouse", duckdb_path, LIMITS, cache_dir=tmp_path_factory.mktemp("views"))


@pytest.fixture(scope="session")
def csv_folder(data_dir) -> Path:
    """A folder with `orders.csv` (20,000 rows) and `customers.csv`: one view per file."""
    folder = data_dir / "exports"
    folder.mkdir()
    with (folder / "orders.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "customer", "amount"])
        writer.writerows(order_rows())
    (folder / "customers.csv").write_text("name,country\ncustomer-1,NL\ncustomer-2,FR\n")
    return folder


@pytest.fixture(scope="session")
def csv_path(csv_folder) -> Path:
    return csv_folder / "orders.csv"


@pytest.fixture(scope="session")
def csv_source(csv_path, tmp_path_factory) -> DuckDBSource:
    return DuckDBSource("orders_csv", csv_path, LIMITS, cache_dir=tmp_path_factory.mktemp("views"))


@pytest.fixture(scope="session")
def folder_source(csv_folder, tmp_path_factory) -> DuckDBSource:
    return DuckDBSource("exports", csv_folder, LIMITS, cache_dir=tmp_path_factory.mktemp("views"))


@pytest.fixture(scope="session")
def postgres(tmp_path_factory) -> Iterator[LocalPostgres]:
    """A real PostgreSQL with database `shop`: `orders` (20,000 rows) and a role `reader` that may only SELECT."""
    if find_postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed (initdb not found); scripts/bootstrap --for-tests installs it")
    server = LocalPostgres().start()
    try:
        with server.admin() as conn:
            conn.execute(f"CREATE DATABASE {PG_DATABASE}")
            conn.execute(f"CREATE ROLE reader LOGIN PASSWORD '{READER_PASSWORD}'")
        with server.admin(PG_DATABASE) as conn:
            conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            conn.execute("CREATE TABLE orders (id integer PRIMARY KEY, customer text NOT NULL, amount float8 NOT NULL)")
            conn.execute(f"INSERT INTO orders SELECT i, 'customer-' || (i % 97), round(i * 1.25, 2) "
                         f"FROM generate_series(1, {ORDER_COUNT}) i")
            conn.execute("GRANT SELECT ON orders TO reader")
        yield server
    finally:
        server.stop()


def postgres_source_for(server: LocalPostgres, *, user: str = "reader", password: str | None = READER_PASSWORD,
                        url: str | None = None) -> DataSource:
    """A source declared the way an admin declares one: a URL without a password, the password on the side."""
    link = DataLink(name="analytics", url=url or server.url(user, PG_DATABASE))
    passwords = {link.password_variable: password} if password else None
    return open_source(link, parse_target(link.url, Path(".")), LIMITS, passwords=passwords)


@pytest.fixture(scope="session")
def postgres_source(postgres) -> DataSource:
    return postgres_source_for(postgres)


def postgres_state(server: LocalPostgres) -> tuple[object, ...]:
    """The rows (count and total), large objects, and every table, view, function and role in the test
    database, read as the superuser: an attack must change none of them."""
    with server.admin(PG_DATABASE) as conn:
        rows = conn.execute("SELECT count(*), sum(amount), (SELECT count(*) FROM pg_largeobject_metadata) "
                            "FROM orders").fetchone()
        objects = conn.execute(
            "SELECT 'rel', relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "UNION ALL SELECT 'fn', proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
            "UNION ALL SELECT 'role', rolname FROM pg_roles WHERE rolname NOT LIKE 'pg\\_%' ORDER BY 1, 2"
        ).fetchall()
    return rows, objects


@dataclass(frozen=True)
class Engine:
    name: str
    source: DataSource
    state: Callable[[], object]  # the data as it stands, to compare before and after an attack


ENGINE_NAMES = ["sqlite", "duckdb", "csv", "postgresql"]


@pytest.fixture(params=ENGINE_NAMES)
def engine(request) -> Engine:
    """Each engine in turn; PostgreSQL starts only when a test asks for it."""
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")
        return Engine("postgresql", request.getfixturevalue("postgres_source"), lambda: postgres_state(server))
    source = request.getfixturevalue(f"{request.param}_source")
    folder = source.path.parent
    return Engine(request.param, source, lambda: fingerprint(folder))

