"""`change "A" to "B" [in <path or glob>]`: a copy change done without a model.

Every occurrence of A in the repo (source, i18n catalogs, docs, snapshots; .gitignore respected)
is found and classified with Pygments: inside a string, comment or prose it is user-facing text;
inside an identifier or a key it is code. When all are text they are all replaced; when they are
mixed, the person chooses. The change then goes through the same policy, checks and preview as
any other.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pygments.lexers import get_lexer_for_filename
from pygments.token import Comment, Literal, String, Text
from pygments.util import ClassNotFound

from bot.changes.copy_only import PROSE
from bot.repos.search import ripgrep

QUOTES = "\"'“”‘’«»"
REQUEST = re.compile(
    r"^\s*(?:please\s+)?(?:change|replace)\s+([\"'“‘«])(?P<old>.+?)[\"'”’»]\s+(?:to|with)\s+"
    r"([\"'“‘«])(?P<new>.+?)[\"'”’»](?:\s+(?:in|on|across|within)\s+(?P<where>.+?))?\s*[.!]?\s*$",
    re.IGNORECASE | re.DOTALL,
)
USER_FACING = (String, Comment, Literal.Scalar, Text)
MAX_ROWS = 20


@dataclass(frozen=True)
class CopyRequest:
    old: str
    new: str
    scope: str | None  # a path or glob to search in, when the person gave one
    where: str | None  # what they said after in/on (may be a description like "the pricing page")


@dataclass
class Match:
    path: str
    line: int
    column: int  # 0-based character offset in the line
    context: str
    user_facing: bool


def parse(text: str) -> CopyRequest | None:
    found = REQUEST.match(text.strip())
    if not found or not found.group("old").strip() or found.group("old") == found.group("new"):
        return None
    where = (found.group("where") or "").strip().strip("`") or None
    scope = where if where and re.search(r"[/*.]", where) and " " not in where else None
    return CopyRequest(found.group("old"), found.group("new"), scope, where)


async def find(worktree: Path, request: CopyRequest) -> list[Match]:
    args = ["-n", "--no-heading", "--color=never", "--hidden", "-g", "!.git", "-F", "--column"]
    if request.scope:
        args += ["-g", request.scope if "/" in request.scope or "*" in request.scope else f"**/{request.scope}"]
    output = await ripgrep([*args, "-e", request.old, "--", "."], worktree)
    return await asyncio.to_thread(_classify, worktree, request, output)  # reads and lexes every file found


def _classify(worktree: Path, request: CopyRequest, output: str) -> list[Match]:
    """ripgrep's rows as matches, each classified by lexing its whole file. One file's tokens are kept
    at a time: hundreds of files' would be millions of objects, and the garbage collector's passes
    over them hold every thread, the event loop's too, for tens of milliseconds."""
    rows: dict[str, list[tuple[int, str]]] = {}
    for row in output.splitlines():
        path, number, _column, text = row.removeprefix("./").split(":", 3)
        rows.setdefault(path, []).append((int(number), text))
    matches: list[Match] = []
    for path, found in rows.items():
        lexed = _lex(path, (worktree / path).read_text(encoding="utf-8", errors="replace"))
        for line, text in found:
            start = 0
            while (offset := text.find(request.old, start)) >= 0:
                matches.append(Match(path, line, offset, text.strip()[:160], lexed.user_facing_at(line, offset)))
                start = offset + len(request.old)
    return matches


def replace(worktree: Path, request: CopyRequest, matches: list[Match]) -> int:
    """Replace exactly the chosen occurrences; returns how many were replaced. It reads and writes every
    file concerned, so async code calls it in a thread (`asyncio.to_thread`)."""
    by_file: dict[str, list[Match]] = {}
    for match in matches:
        by_file.setdefault(match.path, []).append(match)
    done = 0
    for path, found in by_file.items():
        file = worktree / path
        lines = file.read_text(encoding="utf-8").split("\n")
        for match in sorted(found, key=lambda m: (m.line, -m.column)):
            text = lines[match.line - 1]
            if text[match.column:match.column + len(request.old)] == request.old:
                lines[match.line - 1] = text[:match.column] + request.new + text[match.column + len(request.old):]
                done += 1
        file.write_text("\n".join(lines), encoding="utf-8")
    return done


def table(matches: list[Match]) -> str:
    """The matches, one per line: file and line, text or code, and the line's context (renders in
    Slack mrkdwn and in GitHub Markdown alike)."""
    rows = []
    for m in matches[:MAX_ROWS]:
        context = m.context.replace("`", "'")
        rows.append(f"• `{m.path}:{m.line}` ({'text' if m.user_facing else 'code'}) `{context}`")
    if len(matches) > MAX_ROWS:
        rows.append(f"• … and {len(matches) - MAX_ROWS} more")
    return "\n".join(rows)


@dataclass
class _Lexed:
    """A file's token spans (start, end, user-facing) and where each line starts."""

    spans: list[tuple[int, int, bool]]
    line_starts: list[int]

    def user_facing_at(self, line: int, column: int) -> bool:
        offset = self.line_starts[line - 1] + column if line - 1 < len(self.line_starts) else 0
        low, high = 0, len(self.spans) - 1
        while low <= high:  # binary search for the token that contains the offset
            middle = (low + high) // 2
            start, end, text = self.spans[middle]
            if offset < start:
                high = middle - 1
            elif offset >= end:
                low = middle + 1
            else:
                return text
        return True


def _lex(path: str, text: str) -> _Lexed:
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    if PurePosixPath(path).suffix.lower() in PROSE:
        return _Lexed([(0, len(text), True)], starts)
    try:
        lexer = get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return _Lexed([(0, len(text), True)], starts)
    spans = []
    offset = 0
    for ttype, value in lexer.get_tokens(text):
        spans.append((offset, offset + len(value), any(ttype in kind for kind in USER_FACING)))
        offset += len(value)
    return _Lexed(spans, starts)
