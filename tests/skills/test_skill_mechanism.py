"""A typed, docstringed async function is a skill: schema, validation, errors and capped output."""

from __future__ import annotations

import inspect
from typing import Literal

import pytest

from bot.errors import SkillError
from skills import SKILLS
from skills.base import RunContext, Skill, cap_output

CTX = RunContext(run_id="r1", channel="C1", thread_ts="1.0", user="U1")


async def find_things(ctx: RunContext, pattern: str, limit: int = 10, mode: Literal["fast", "exact"] = "fast",
                      paths: list[str] | None = None, verbose: bool = False) -> str:
    """Find things matching a pattern.

    Args:
        pattern: what to look for.
        limit: at most this many results.
    """
    return f"{pattern}|{limit}|{mode}|{paths}|{verbose}"


def test_name_description_and_schema_come_from_the_function():
    skill = Skill.of(find_things)
    assert skill.name == "find_things"
    assert skill.description == "Find things matching a pattern."
    assert skill.parameters == {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "what to look for."},
            "limit": {"type": "integer", "description": "at most this many results.", "default": 10},
            "mode": {"type": "string", "enum": ["fast", "exact"], "default": "fast"},
            "paths": {"type": "array", "items": {"type": "string"}},
            "verbose": {"type": "boolean", "default": False},
        },
        "required": ["pattern"],
        "additionalProperties": False,
    }
    assert skill.mutates is False and Skill.of(find_things, mutates=True).mutates is True


async def test_invoke_validates_then_runs():
    skill = Skill.of(find_things)
    assert await skill.invoke(CTX, '{"pattern": "x", "limit": 3, "paths": ["a"]}') == "x|3|fast|['a']|False"


@pytest.mark.parametrize(("raw", "message"), [
    ("{not json", "not valid JSON"),
    ("[1]", "must be a JSON object"),
    ("{}", "missing required argument(s): pattern"),
    ('{"pattern": "x", "colour": 1}', "unknown argument(s) colour"),
    ('{"pattern": 3}', "`pattern` must be string"),
    ('{"pattern": "x", "limit": "3"}', "`limit` must be integer"),
    ('{"pattern": "x", "limit": true}', "`limit` must be integer"),
    ('{"pattern": "x", "mode": "slow"}', "must be one of fast, exact"),
    ('{"pattern": "x", "paths": [1]}', "`paths[]` must be string"),
])
async def test_bad_arguments_are_skill_errors_for_the_model(raw, message):
    with pytest.raises(SkillError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        await Skill.of(find_things).invoke(CTX, raw)


def test_functions_that_cannot_be_skills_are_refused_at_definition():
    def not_async(ctx: RunContext) -> str:
        """Doc."""

    async def no_doc(ctx: RunContext) -> str:
        return ""

    async def no_ctx(pattern: str) -> str:
        """Doc."""

    async def untyped(ctx: RunContext, pattern) -> str:
        """Doc."""

    async def odd_type(ctx: RunContext, pattern: dict) -> str:
        """Doc."""

    for function, message in [(not_async, "async"), (no_doc, "docstring"), (no_ctx, "ctx"),
                              (untyped, "type hint"), (odd_type, "unsupported type")]:
        with pytest.raises(TypeError, match=message):
            Skill.of(function)


async def test_output_is_capped_with_an_exact_message():
    async def chatty(ctx: RunContext) -> str:
        """Say a lot."""
        return "\n".join(f"line {i}" for i in range(1000))

    out = await Skill.of(chatty, output_limit=100).invoke(CTX, "{}")
    assert len(out) < 200
    assert out.startswith("line 0\nline 1")
    shown = out.split("\n[output truncated")[0].count("\n") + 1
    assert f"({1000 - shown} more lines) not shown]" in out


def test_cap_output_leaves_short_text_alone():
    assert cap_output("short", 100) == "short"


def test_every_registered_skill_has_a_docstring_and_typed_parameters():
    for skill in SKILLS:
        assert skill.description, skill.name
        signature = inspect.signature(skill.function)
        for name, param in list(signature.parameters.items())[1:]:
            assert param.annotation is not inspect.Parameter.empty, f"{skill.name}.{name}"
