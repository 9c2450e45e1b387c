"""Query results for people: an aligned monospace table that reads well in Slack, or CSV when too wide."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

MAX_CELL = 40
MAX_TABLE_WIDTH = 110  # characters: wider tables go to a CSV file, with a narrow preview
MAX_TABLE_ROWS = 50


def cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        text = f"{value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 1e15 else f"{value:.4g}"
    elif isinstance(value, Decimal):
        text = f"{value:,}"
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ", timespec="seconds")
    elif isinstance(value, bytes):
        text = f"<{len(value)} bytes>"
    else:
        text = str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def text_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, max_rows: int = MAX_TABLE_ROWS) -> str:
    """A fixed-width table; numbers right-aligned."""
    shown = [[cell(v) for v in row] for row in rows[:max_rows]]
    headers = [cell(c) for c in columns]
    widths = [max([len(h)] + [len(r[i]) for r in shown]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], int | float | Decimal) or row[i] is None for row in rows[:max_rows]) and rows
               for i in range(len(columns))]
    lines = [" | ".join(h.rjust(w) if n else h.ljust(w) for h, w, n in zip(headers, widths, numeric, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    for row in shown:
        lines.append(" | ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(row, widths, numeric, strict=True)))
    return "\n".join(line.rstrip() for line in lines)


def is_wide(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> bool:
    table = text_table(columns, rows[:20])
    return max((len(line) for line in table.splitlines()), default=0) > MAX_TABLE_WIDTH


def to_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buffer.getvalue()
