"""Markdown (as models write it) -> Slack mrkdwn, and splitting long Markdown for Slack's limits.

Slack renders standard Markdown itself in `markdown` blocks, so answers go there; mrkdwn is for
where those do not reach: the `text` fallback (notifications, search), section blocks, and
workspaces that reject markdown blocks.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

_parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])

# Slack's own entities (<@U123>, <#C123|name>, <!here>, <!subteam^S1>) pass through unescaped.
_SLACK_ENTITY = re.compile(r"<(?:[@#!][^<>\s][^<>]*)>")


def escape(text: str) -> str:
    out, last = [], 0
    for match in _SLACK_ENTITY.finditer(text):
        out.append(_escape_plain(text[last:match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_escape_plain(text[last:]))
    return "".join(out)


def _escape_plain(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(markdown: str) -> str:
    """Convert Markdown to Slack mrkdwn: bold, italics, strike, links, code, lists, headings, quotes, tables."""
    tree = SyntaxTreeNode(_parser.parse(markdown))
    return "\n\n".join(b for b in (_block(child, 0) for child in tree.children) if b).strip()


def _block(node: SyntaxTreeNode, depth: int) -> str:
    kind = node.type
    if kind == "paragraph":
        return _inline(node.children[0]) if node.children else ""
    if kind == "heading":
        text = _inline(node.children[0]) if node.children else ""
        return f"*{text}*" if text else ""
    if kind in ("fence", "code_block"):
        return "```\n" + _escape_plain(node.content.rstrip("\n")) + "\n```"
    if kind in ("bullet_list", "ordered_list"):
        return _list(node, depth)
    if kind == "blockquote":
        inner = "\n\n".join(b for b in (_block(c, depth) for c in node.children) if b)
        return "\n".join("> " + line if line else ">" for line in inner.splitlines())
    if kind == "hr":
        return "───"
    if kind == "table":
        return _table(node)
    if kind == "html_block":
        return _escape_plain(node.content.rstrip("\n"))
    return "\n\n".join(b for b in (_block(c, depth) for c in node.children) if b)


def _list(node: SyntaxTreeNode, depth: int) -> str:
    lines = []
    start = int(node.attrs.get("start", 1)) if node.type == "ordered_list" else 1
    indent = "    " * depth
    for number, item in enumerate(node.children, start=start):
        marker = f"{number}." if node.type == "ordered_list" else ("•" if depth % 2 == 0 else "◦")
        parts = [_block(child, depth + 1) for child in item.children]
        first, *rest = [p for p in parts if p] or [""]
        first_lines = first.splitlines() or [""]
        lines.append(f"{indent}{marker} {first_lines[0]}")
        lines.extend(f"{indent}   {line}" if line else "" for line in first_lines[1:])
        for part in rest:
            nested = (item.children and part.lstrip().startswith(("•", "◦"))) or re.match(r"\s*\d+\. ", part)
            lines.extend(part.splitlines() if nested else [f"{indent}   {line}" for line in part.splitlines()])
    return "\n".join(lines)


def _table(node: SyntaxTreeNode) -> str:
    rows: list[list[str]] = []
    for section in node.children:
        for row in section.children:
            rows.append([_plain(cell) for cell in row.children])
    if not rows:
        return ""
    widths = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(max(map(len, rows)))]
    rendered = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows]
    rendered.insert(1, "  ".join("-" * w for w in widths))
    return "```\n" + _escape_plain("\n".join(rendered)) + "\n```"


def _plain(node: SyntaxTreeNode) -> str:
    if node.type in ("text", "code_inline"):
        return node.content
    return "".join(_plain(c) for c in node.children)


def _inline(node: SyntaxTreeNode) -> str:
    out = []
    for child in node.children:
        kind = child.type
        if kind == "text":
            out.append(escape(child.content))
        elif kind == "code_inline":
            out.append(f"`{_escape_plain(child.content)}`")
        elif kind == "strong":
            out.append(f"*{_inline(child)}*")
        elif kind == "em":
            out.append(f"_{_inline(child)}_")
        elif kind == "s":
            out.append(f"~{_inline(child)}~")
        elif kind == "link":
            out.append(_link(str(child.attrs.get("href", "")), _plain(child)))
        elif kind == "image":
            out.append(_link(str(child.attrs.get("src", "")), child.content or "image"))
        elif kind == "softbreak":
            out.append("\n")
        elif kind == "hardbreak":
            out.append("\n")
        elif kind == "html_inline":
            out.append(escape(child.content))
        else:
            out.append(_inline(child))
    return "".join(out)


def _link(url: str, label: str) -> str:
    url = str(url).replace(">", "%3E").replace("|", "%7C")
    label = label.replace("|", "¦").replace(">", "›").replace("<", "‹").strip()
    if not label or label == url or (url.startswith("mailto:") and label == url[7:]):
        return f"<{url}>"
    return f"<{url}|{label}>"


def split_markdown(text: str, limit: int) -> list[str]:
    """Split Markdown into pieces of at most `limit` characters, between blocks where possible.

    Paragraphs and whole code blocks are packed greedily; a block that is itself too long is cut
    between lines (then words), and a code fence cut that way is closed at the end of one piece
    and reopened, with its language, at the start of the next, so every piece renders alone.
    """
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for block in _blocks(text):
        candidate = f"{current}\n\n{block}" if current else block
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        if len(block) <= limit:
            current = block
        else:
            *full, current = _split_block(block, limit)
            pieces.extend(full)
    if current:
        pieces.append(current)
    return pieces


def _blocks(text: str) -> list[str]:
    """Paragraph-level blocks; a fenced code block is one block even with blank lines inside."""
    blocks: list[str] = []
    lines: list[str] = []
    in_fence = False
    for line in text.split("\n"):
        if line.strip().startswith("```"):
            in_fence = not in_fence
        if not line.strip() and not in_fence:
            if lines:
                blocks.append("\n".join(lines))
                lines = []
            continue
        lines.append(line)
    if lines:
        blocks.append("\n".join(lines))
    return blocks


def _split_block(block: str, limit: int) -> list[str]:
    lines = block.split("\n")
    fence = lines[0].strip() if lines[0].strip().startswith("```") else None
    closing = "\n```" if fence else ""
    pieces: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) + len(closing) <= limit:
            current = candidate
            continue
        if current and current != fence:
            pieces.append(current + (closing if fence and not current.endswith("```") else ""))
            current = f"{fence}\n{line}" if fence else line
        else:
            current = candidate
        while len(current) + len(closing) > limit:  # one line longer than a piece
            cut = _cut_point(current, limit - len(closing))
            pieces.append(current[:cut] + closing)
            current = (f"{fence}\n" if fence else "") + current[cut:].lstrip(" ")
    pieces.append(current)
    return pieces


def _cut_point(text: str, limit: int) -> int:
    for sep in ("\n", " "):
        cut = text.rfind(sep, limit // 2, limit)
        if cut > 0:
            return cut
    return limit
