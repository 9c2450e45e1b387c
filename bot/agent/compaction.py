"""Keeping a conversation inside the model's context budget.

Before each model call the prompt is measured. Over the budget, in order:
1. bulky tool output from earlier steps is cut to a short head (cheap, no model call);
2. the older part of the conversation is summarised by the model and replaced by that summary;
3. whatever is still too large (a single huge tool result) is cut hard.
The recent tail is kept verbatim and a cut never separates a tool call from its result.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from bot.agent.llm import ChatModel
from bot.agent.tokens import count_messages, count_text, count_tools

log = logging.getLogger(__name__)

BUDGET_SHARE = 0.75  # of the context window; the rest is room for the answer and for counting error
OLD_TOOL_OUTPUT_CHARS = 600
SUMMARY_PREFIX = "[Summary of the earlier part of this conversation, written to save context]\n"
SUMMARY_PROMPT = (
    "You compress a conversation between a user and an assistant that uses tools, so the assistant can "
    "continue the work. Keep: what the user asked, facts found (with file paths, line numbers, commit SHAs, "
    "SQL and numbers exactly as written), decisions made, and open questions. Drop pleasantries and raw "
    "tool output. Write plain Markdown, at most 300 words."
)


@dataclass
class CompactionResult:
    messages: list[dict[str, Any]]
    summarised: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Compactor:
    def __init__(self, model: ChatModel, context_tokens: int) -> None:
        self.model = model
        self.context_tokens = context_tokens

    def limit(self, tools: list[dict[str, Any]]) -> int:
        return int(self.context_tokens * BUDGET_SHARE) - count_tools(tools)

    async def fit(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                  *, force: bool = False) -> CompactionResult:
        """Return messages that fit the budget (the same list object untouched if they already do)."""
        limit = self.limit(tools)
        size = await _counted(messages)  # ~9 ms per 120 KB of conversation: off the loop
        if force:  # the endpoint says it does not fit, whatever our count says: halve it
            limit = min(limit, size // 2)
        elif size <= limit:
            return CompactionResult(messages)
        result = CompactionResult(_shrink_old_tool_output(messages))
        if not force and await _counted(result.messages) <= limit:
            return result
        head, older, recent = _split_for_summary(result.messages, limit // 2)
        if older:
            summary, usage = await self._summarise(older, limit)
            result.messages = [*head, {"role": "user", "content": SUMMARY_PREFIX + summary}, *recent]
            result.summarised = True
            result.prompt_tokens, result.completion_tokens = usage
            log.info("compacted %d older messages into a summary", len(older))
        if await _counted(result.messages) > limit:
            result.messages = await asyncio.to_thread(_cut_largest, result.messages, limit)
        return result

    async def _summarise(self, older: list[dict[str, Any]], limit: int) -> tuple[str, tuple[int, int]]:
        transcript = _transcript(older, max_chars=max(2_000, limit * 2))
        completion = await self.model.complete([
            {"role": "system", "content": SUMMARY_PROMPT},
            {"role": "user", "content": transcript},
        ])
        return completion.text.strip(), (completion.prompt_tokens, completion.completion_tokens)


def _groups(messages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Messages grouped so an assistant message with tool calls stays with its tool results."""
    groups: list[list[dict[str, Any]]] = []
    for message in messages:
        if message["role"] == "tool" and groups:
            groups[-1].append(message)
        else:
            groups.append([message])
    return groups


def _shrink_old_tool_output(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups = _groups(messages)
    keep_from = max(0, len(groups) - 2)
    out: list[dict[str, Any]] = []
    for index, group in enumerate(groups):
        for message in group:
            content = message.get("content")
            if index < keep_from and message["role"] == "tool" and isinstance(content, str) \
                    and len(content) > OLD_TOOL_OUTPUT_CHARS:
                removed = len(content) - OLD_TOOL_OUTPUT_CHARS
                message = {**message, "content": content[:OLD_TOOL_OUTPUT_CHARS]
                           + f"\n[{removed} characters of earlier tool output removed to save context]"}
            out.append(message)
    return out


def _split_for_summary(messages: list[dict[str, Any]], recent_budget: int):
    """(leading system messages, older groups to summarise, recent groups kept verbatim)."""
    head: list[dict[str, Any]] = []
    while len(head) < len(messages) and messages[len(head)]["role"] == "system":
        head.append(messages[len(head)])
    groups = _groups(messages[len(head):])
    recent: list[list[dict[str, Any]]] = []
    used = 0
    for group in reversed(groups):
        size = count_messages(group)
        if recent and used + size > recent_budget:
            break
        recent.insert(0, group)
        used += size
    older = groups[: len(groups) - len(recent)]
    return head, [m for g in older for m in g], [m for g in recent for m in g]


def _transcript(messages: list[dict[str, Any]], max_chars: int) -> str:
    per_message = max(200, max_chars // max(1, len(messages)))
    lines = []
    for message in messages:
        content = message.get("content")
        text = content if isinstance(content, str) else json.dumps(content) if content else ""
        for call in message.get("tool_calls") or ():
            text += f"\n(calls {call['function']['name']} {call['function']['arguments']})"
        if len(text) > per_message:
            text = text[:per_message] + " [...]"
        lines.append(f"{message['role'].upper()}: {text}")
    return "\n\n".join(lines)


async def _counted(messages: list[dict[str, Any]]) -> int:
    return await asyncio.to_thread(count_messages, messages)


def _cut_largest(messages: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Last resort: cut the largest contents until the conversation fits."""
    messages = [dict(m) for m in messages]
    while count_messages(messages) > limit:
        sizes = [(count_text(m["content"]) if isinstance(m.get("content"), str) else 0, i)
                 for i, m in enumerate(messages) if m["role"] != "system"]
        size, index = max(sizes, default=(0, -1))
        if size < 200:
            break
        content = messages[index]["content"]
        keep = len(content) // 2
        messages[index]["content"] = content[:keep] + f"\n[{len(content) - keep} characters cut to fit the context]"
    return messages
