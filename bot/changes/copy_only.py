"""Is a change copy-only? Compare each file's token stream before and after, with string literals
and comments masked: if the rest is identical, only copy changed. Markup and docs count as prose.

Tokens come from Pygments, which lexes hundreds of languages. Known limit: Pygments' JSX/TSX
lexers treat text between tags as names, so a JSX text edit reads as a code change there.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import PurePosixPath

from pygments.lexers import get_lexer_for_filename
from pygments.token import Comment, Literal, String, Text, Token
from pygments.util import ClassNotFound

PROSE = {".md", ".markdown", ".mdx", ".rst", ".txt", ".adoc", ".asciidoc", ".html", ".htm", ".xhtml", ".xml",
         ".tex", ".org", ".textile", ".strings"}
MASKED = (String, Comment, Literal.Scalar)  # Literal.Scalar: YAML's plain values
STRING = "<string>"


@dataclass
class CopyCheck:
    copy_only: bool
    strings_changed: int = 0
    prose: bool = False
    reason: str | None = None  # why it is not copy-only


def check_file(path: str, old: str | None, new: str | None) -> CopyCheck:
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in PROSE or PurePosixPath(path).name.upper() in {"README", "CHANGELOG", "LICENSE", "NOTICE"}:
        return CopyCheck(True, prose=True)
    if old is None or new is None:
        return CopyCheck(False, reason=f"`{path}` is {'new' if old is None else 'deleted'}; that is not a copy change")
    try:
        lexer = get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return CopyCheck(False, reason=f"`{path}` is a kind of file I can't check for copy-only changes")
    old_code, old_strings = _masked(lexer, old)
    new_code, new_strings = _masked(lexer, new)
    if old_code != new_code:
        return CopyCheck(False, reason=f"a code token changed in `{path}`: {_first_difference(old_code, new_code)}")
    matcher = difflib.SequenceMatcher(a=old_strings, b=new_strings, autojunk=False)
    changed = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")
    return CopyCheck(True, strings_changed=changed)


def _masked(lexer, text: str) -> tuple[list[str], list[str]]:
    """(code tokens with each run of strings/comments as one placeholder, the texts of those runs)."""
    code: list[str] = []
    strings: list[str] = []
    in_string = False
    for ttype, value in lexer.get_tokens(text):
        if any(ttype in kind for kind in MASKED):
            if in_string:
                strings[-1] += value
            else:
                strings.append(value)
                code.append(STRING)
            in_string = True
            continue
        if (ttype in Text and not value.strip()) or ttype in Token.Text.Whitespace:
            continue  # whitespace between tokens does not end a string run nor count as code
        in_string = False
        code.append(f"{_kind(ttype)}:{value.strip()}")
    return code, strings


def _kind(ttype) -> str:
    return str(ttype).split(".")[1] if "." in str(ttype) else str(ttype)


def _first_difference(old: list[str], new: list[str]) -> str:
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        before = " ".join(t.split(":", 1)[-1] for t in old[i1:i2])[:60] or "(nothing)"
        after = " ".join(t.split(":", 1)[-1] for t in new[j1:j2])[:60] or "(nothing)"
        return f"`{before}` → `{after}`"
    return "(the token streams differ)"
