"""A file a run posts into its thread (a chart, a CSV, the SQL behind an answer)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes | str
    title: str
