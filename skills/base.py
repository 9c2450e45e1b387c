"""The skill mechanism: a typed, docstringed async function *is* a tool.

```python
async def search_code(ctx: RunContext, repo: str, pattern: str, path_glob: str = "") -> str:
    \"\"\"Search a linked repo with ripgrep; returns up to 50 matches as path:line: text.

    Args:
        pattern: a ripgrep regular expression.
    \"\"\"

SKILLS = [Skill.of(search_code, needs={"repos"}), Skill.of(propose_change, needs={"repos"}, mutates=True)]
```
The name is the function's name, the description its docstring, the JSON schema comes from the
type hints (`ctx` is left out). Arguments from the model are checked against the schema
before the function runs; any problem is a `SkillError`, which goes back to the model.

A skill declares what it needs (`needs`: "repos", "data") and whether it can change anything
(`mutates`; when in doubt, it does). A run offers a skill only when the channel has what it
needs, never offers a mutating skill where the channel's change policy is read-only, runs a
mutating call alone, and records every call with its `mutates` flag in the audit trail.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args, get_origin

from bot.attachment import Attachment
from bot.errors import SkillError

if TYPE_CHECKING:
    from bot.data.catalog import ChannelData
    from bot.repos.run_repos import RunRepos
    from bot.repos.sandbox import Sandbox
    from bot.store.records import Proposal

DEFAULT_OUTPUT_LIMIT = 12_000  # characters of one tool result given to the model
NEEDS = frozenset({"repos", "data"})  # what a skill can need from its channel


class ChangeProposer(Protocol):
    """Turns the run's edits into a reviewable change (bot/changes/proposal.py implements it)."""

    proposal: Proposal | None

    async def propose(self, repo: str, title: str, summary: str) -> Proposal: ...


@dataclass
class RunContext:
    """What a skill may know about the run it serves. No Slack, no model."""

    run_id: str
    channel: str
    thread_ts: str
    user: str
    repos: RunRepos | None = None  # the linked repos, pinned and checked out on demand
    sandbox: Sandbox | None = None  # where commands run
    proposer: ChangeProposer | None = None  # turns the run's edits into a reviewable change
    data: ChannelData | None = None  # the channel's data sources and metrics catalog
    attachments: list[Attachment] = field(default_factory=list)  # files to post in the thread with the answer
    queries: list[tuple[str, str]] = field(default_factory=list)  # (source, SQL) of every query run, for receipts
    end_requested: bool = False  # a skill finished the request (propose_change): stop calling the model

    def need_data(self) -> ChannelData:
        if not self.data:
            raise SkillError("no data source is linked to this channel; someone can link one with "
                             "`/chatops link data <name> <url>`")
        return self.data

    def need_repos(self) -> RunRepos:
        if self.repos is None:
            raise SkillError("no repo is linked to this channel; someone can link one with "
                             "`/chatops link repo owner/name`")
        return self.repos


SkillFunction = Callable[..., Awaitable[Any]]

_JSON_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    parameters: dict[str, Any]
    function: SkillFunction
    mutates: bool = False
    needs: frozenset[str] = frozenset()
    output_limit: int = DEFAULT_OUTPUT_LIMIT

    @classmethod
    def of(cls, function: SkillFunction, *, needs: set[str] | frozenset[str] = frozenset(), mutates: bool = False,
           output_limit: int = DEFAULT_OUTPUT_LIMIT) -> Skill:
        if not inspect.iscoroutinefunction(function):
            raise TypeError(f"skill {function.__name__} must be an async function")
        unknown = set(needs) - NEEDS
        if unknown:
            raise TypeError(f"skill {function.__name__}: unknown needs {sorted(unknown)} (known: {sorted(NEEDS)})")
        doc = inspect.getdoc(function)
        if not doc:
            raise TypeError(f"skill {function.__name__} needs a docstring: it is the model's description")
        description, arg_docs = _split_docstring(doc)
        return cls(
            name=function.__name__,
            description=description,
            parameters=_schema(function, arg_docs),
            function=function,
            mutates=mutates,
            needs=frozenset(needs),
            output_limit=output_limit,
        )

    def offered(self, available: set[str] | frozenset[str], *, read_only: bool) -> bool:
        """Is this skill offered to a run whose channel has `available` (and may or may not change things)?"""
        return self.needs <= available and not (self.mutates and read_only)

    async def invoke(self, ctx: RunContext, raw_arguments: str) -> str:
        """Validate the model's JSON arguments, run the skill, and return its capped text result."""
        arguments = self.parse_arguments(raw_arguments)
        result = await self.function(ctx, **arguments)
        text = result if isinstance(result, str) else json.dumps(result, indent=1, default=str)
        return cap_output(text, self.output_limit)

    def parse_arguments(self, raw_arguments: str) -> dict[str, Any]:
        try:
            arguments = json.loads(raw_arguments or "{}")
        except json.JSONDecodeError as exc:
            raise SkillError(f"arguments are not valid JSON ({exc.msg} at position {exc.pos})") from None
        if not isinstance(arguments, dict):
            raise SkillError("arguments must be a JSON object")
        properties = self.parameters["properties"]
        unknown = sorted(set(arguments) - set(properties))
        if unknown:
            raise SkillError(f"unknown argument(s) {', '.join(unknown)}; {self.name} takes: {', '.join(properties)}")
        missing = [name for name in self.parameters["required"] if name not in arguments]
        if missing:
            raise SkillError(f"missing required argument(s): {', '.join(missing)}")
        for name, value in arguments.items():
            _check_type(name, value, properties[name])
        return arguments


def cap_output(text: str, limit: int) -> str:
    """Cut `text` to about `limit` characters at a line boundary, saying exactly what was left out."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = head.rfind("\n")
    if cut > limit // 2:
        head = head[:cut]
    rest = text[len(head):]
    remaining = rest[1:] if rest.startswith("\n") else rest
    lines = remaining.count("\n") + (0 if remaining.endswith("\n") else 1)
    return f"{head}\n[output truncated: {len(remaining)} more characters ({lines} more lines) not shown]"


def _split_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into the description and per-argument descriptions."""
    match = re.search(r"^Args:\s*$", doc, flags=re.MULTILINE)
    if not match:
        return doc.strip(), {}
    description = doc[: match.start()].strip()
    arg_docs: dict[str, str] = {}
    current = None
    for line in doc[match.end():].splitlines():
        item = re.match(r"^\s{2,}(\w+)(?:\s*\([^)]*\))?:\s*(.*)$", line)
        if item:
            current = item.group(1)
            arg_docs[current] = item.group(2).strip()
        elif current and line.strip() and line.startswith("      "):
            arg_docs[current] += " " + line.strip()
        elif line.strip() and not line.startswith(" "):
            break
    return description, arg_docs


def _schema(function: SkillFunction, arg_docs: dict[str, str]) -> dict[str, Any]:
    hints = typing.get_type_hints(function)
    params = list(inspect.signature(function).parameters.values())
    if not params or params[0].name != "ctx":
        raise TypeError(f"skill {function.__name__} must take `ctx: RunContext` as its first parameter")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in params[1:]:
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            raise TypeError(f"skill {function.__name__}: *args/**kwargs are not allowed ({param.name})")
        if param.name not in hints:
            raise TypeError(f"skill {function.__name__}: parameter {param.name} needs a type hint")
        prop = _json_type(hints[param.name], f"{function.__name__}.{param.name}")
        if param.name in arg_docs:
            prop["description"] = arg_docs[param.name]
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
        elif param.default is not None:
            prop["default"] = param.default
        properties[param.name] = prop
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _json_type(hint: Any, where: str) -> dict[str, Any]:
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(hint) if a is not type(None)]
        if len(options) != 1:
            raise TypeError(f"{where}: only `X | None` unions are supported")
        return _json_type(options[0], where)
    if origin is Literal:
        values = list(get_args(hint))
        return {"type": _JSON_TYPES[type(values[0])], "enum": values}
    if origin is list:
        (item,) = get_args(hint) or (str,)
        return {"type": "array", "items": _json_type(item, where)}
    if hint in _JSON_TYPES:
        return {"type": _JSON_TYPES[hint]}
    raise TypeError(f"{where}: unsupported type {hint!r} (use str, int, float, bool, Literal, list)")


def _check_type(name: str, value: Any, prop: dict[str, Any]) -> None:
    expected = prop["type"]
    if value is None:
        return  # an optional parameter explicitly left empty
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
    }[expected]
    if not ok:
        raise SkillError(f"`{name}` must be {expected}, got {json.dumps(value)[:60]}")
    if "enum" in prop and value not in prop["enum"]:
        raise SkillError(f"`{name}` must be one of {', '.join(map(str, prop['enum']))}, got {value!r}")
    if expected == "array":
        for item in value:
            _check_type(f"{name}[]", item, prop["items"])
