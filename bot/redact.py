"""Secret redaction for everything the bot writes: Slack posts, logs, tool results, PR bodies.

Known token shapes are replaced wherever they appear, and so are the exact values of the
secrets this process was configured with (whatever their shape).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[redacted]"

TOKEN_PATTERNS = [
    r"xox[abposre]-[A-Za-z0-9-]{8,}",  # Slack bot/user/refresh tokens (xoxb-, xoxp-, xoxe-...)
    r"xapp-[A-Za-z0-9-]{8,}",  # Slack app-level tokens
    r"gh[pousr]_[A-Za-z0-9]{20,}",  # GitHub classic, OAuth, server and refresh tokens
    r"github_pat_[A-Za-z0-9_]{20,}",  # GitHub fine-grained tokens
    r"sk-[A-Za-z0-9_-]{16,}",  # OpenAI-style API keys (sk-, sk-proj-)
    r"AKIA[0-9A-Z]{16}",  # AWS access key ids
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
]


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Each secret also as it reads inside a repr (a KeyError's message, `{x!r}`) or a JSON string,
        # where a backslash, a quote or a non-ASCII character is escaped.
        forms = {form for s in secrets if s for form in (s, repr(s)[1:-1], json.dumps(s)[1:-1])}
        exact = sorted(forms, key=len, reverse=True)
        parts = [re.escape(s) for s in exact] + TOKEN_PATTERNS
        self._pattern = re.compile("|".join(f"(?:{p})" for p in parts))

    def text(self, value: str) -> str:
        return self._pattern.sub(REDACTED, value) if value else value

    def data(self, value: Any) -> Any:
        """Redact every string inside a JSON-like structure (dicts, lists, Block Kit payloads)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


class RedactingFormatter(logging.Formatter):
    """Formats log records as usual, then redacts the whole line (message, arguments, traceback)."""

    def __init__(self, redactor: Redactor, fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.text(super().format(record))
