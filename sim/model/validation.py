"""Checks on a Chat Completions request body, and on whether a scripted reply fits it.

`check_request(body)` raises `InvalidRequest` the way the real API answers 400 and returns the
request's `ToolPolicy`; `ToolPolicy.check(reply)` raises `ScriptMismatch` when the test scripted
a tool call the request does not allow (so a wrong script fails loudly instead of passing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sim.model.conversation import (
    check_messages,
    check_tool_name,
    empty_array,
    missing,
    not_emulated,
    unknown,
    wrong_type,
)
from sim.model.errors import InvalidRequest, ScriptMismatch
from sim.model.replies import Reply

# The documented request body of POST /v1/chat/completions (openai-python 3.x CompletionCreateParams).
KNOWN_FIELDS = frozenset(
    {
        "model", "messages", "tools", "tool_choice", "parallel_tool_calls", "stream", "stream_options",
        "temperature", "top_p", "max_tokens", "max_completion_tokens", "n", "stop", "presence_penalty",
        "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "response_format", "seed", "user",
        "metadata", "store", "service_tier", "reasoning_effort", "modalities", "audio", "prediction",
        "web_search_options", "verbosity", "prompt_cache_key", "prompt_cache_options",
        "prompt_cache_retention", "safety_identifier", "moderation", "functions", "function_call",
    }
)  # fmt: skip

# name -> (expected JSON type, minimum, maximum); null is accepted for all of them.
_SCALARS: dict[str, tuple[str, float | None, float | None]] = {
    "temperature": ("number", 0, 2),
    "top_p": ("number", 0, 1),
    "presence_penalty": ("number", -2, 2),
    "frequency_penalty": ("number", -2, 2),
    "max_tokens": ("integer", 1, None),
    "max_completion_tokens": ("integer", 1, None),
    "n": ("integer", 1, 128),
    "seed": ("integer", None, None),
    "top_logprobs": ("integer", 0, 20),
    "logprobs": ("boolean", None, None),
    "stream": ("boolean", None, None),
    "store": ("boolean", None, None),
    "parallel_tool_calls": ("boolean", None, None),
    "user": ("string", None, None),
    "safety_identifier": ("string", None, None),
    "prompt_cache_key": ("string", None, None),
}
_EXPECTED = {"number": "a decimal", "integer": "an integer", "boolean": "a boolean", "string": "a string"}


@dataclass(frozen=True)
class ToolPolicy:
    """Which tool calls a reply to this request may make."""

    offered: frozenset[str]  # function names the model may call (allowed_tools narrows `tools`)
    choice: str  # "none" | "auto" | "required" | "function"
    forced: str | None  # the function named by tool_choice
    parallel: bool

    def check(self, reply: Reply) -> None:
        if reply.is_error or reply.hangs:
            return
        names = [call.name for call in reply.calls]
        if names and self.choice == "none":
            raise ScriptMismatch(
                f"sim: scripted tool call {names[0]!r} is not among the request's tools (tool_choice is 'none')"
            )
        if self.forced and names != [self.forced]:
            raise ScriptMismatch(
                f"sim: tool_choice forces one call to {self.forced!r} but the script calls {names or 'no tool'}"
            )
        for name in names:
            if name not in self.offered:
                offered = ", ".join(sorted(self.offered)) or "none"
                raise ScriptMismatch(
                    f"sim: scripted tool call {name!r} is not among the request's tools (offered: {offered})"
                )
        if self.choice == "required" and not names:
            raise ScriptMismatch("sim: tool_choice is 'required' but the scripted reply calls no tool")
        if len(names) > 1 and not self.parallel:
            raise ScriptMismatch(
                f"sim: scripted {len(names)} parallel tool calls but the request set parallel_tool_calls=false"
            )


def check_request(body: Any) -> ToolPolicy:
    if not isinstance(body, dict):
        raise InvalidRequest(
            f"Invalid type for body: expected an object, but got {type(body).__name__} instead."
        )
    for field in body:
        if field not in KNOWN_FIELDS:
            raise InvalidRequest(
                f"Unrecognized request argument supplied: {field}", param=field, code="unknown_parameter"
            )
    for field in ("functions", "function_call"):
        if field in body:
            raise not_emulated(field, f"legacy '{field}' (use tools and tool_choice)")
    if "model" not in body:
        raise missing("model")
    if not isinstance(body["model"], str):
        raise wrong_type("model", "a string", body["model"])
    for name, (kind, low, high) in _SCALARS.items():
        if body.get(name) is not None:
            _check_scalar(name, body[name], kind, low, high)
    if body.get("n") not in (None, 1):
        raise not_emulated("n", f"n={body['n']} (the emulator answers one choice)")
    _check_stop(body.get("stop"))
    _check_stream_options(body)
    check_messages(body.get("messages"))
    return _tool_policy(body)


def _check_scalar(name: str, value: Any, kind: str, low: float | None, high: float | None) -> None:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    fits = {
        "number": is_number,
        "integer": is_number and float(value).is_integer(),
        "boolean": isinstance(value, bool),
        "string": isinstance(value, str),
    }[kind]
    if not fits:
        raise wrong_type(name, _EXPECTED[kind], value)
    word = "decimal" if kind == "number" else "integer"
    if low is not None and value < low:
        raise InvalidRequest(
            f"Invalid '{name}': {word} below minimum value. Expected a value >= {low:g}, but got {value} instead.",
            param=name,
            code=f"{word}_below_min_value",
        )
    if high is not None and value > high:
        raise InvalidRequest(
            f"Invalid '{name}': {word} above maximum value. Expected a value <= {high:g}, but got {value} instead.",
            param=name,
            code=f"{word}_above_max_value",
        )


def _check_stop(stop: Any) -> None:
    if stop is None or isinstance(stop, str):
        return
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise wrong_type("stop", "one of a string or array of strings", stop)
    if len(stop) > 4:
        raise InvalidRequest(
            f"Invalid 'stop': array too long. Expected an array with maximum length 4, but got {len(stop)} instead.",
            param="stop",
            code="array_above_max_length",
        )


def _check_stream_options(body: dict[str, Any]) -> None:
    options = body.get("stream_options")
    if options is None:
        return
    if not body.get("stream"):
        raise InvalidRequest(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
            code="invalid_value",
        )
    if not isinstance(options, dict):
        raise wrong_type("stream_options", "an object", options)
    for key, value in options.items():
        if key not in ("include_usage", "include_obfuscation"):
            raise unknown(f"stream_options.{key}")
        if not isinstance(value, bool):
            raise wrong_type(f"stream_options.{key}", "a boolean", value)


def _tool_policy(body: dict[str, Any]) -> ToolPolicy:
    tools = body.get("tools")
    names = _check_tools(tools) if tools is not None else frozenset()
    for field in ("tool_choice", "parallel_tool_calls"):
        if body.get(field) is not None and tools is None:
            raise InvalidRequest(
                f"Invalid value for '{field}': '{field}' is only allowed when 'tools' are specified.",
                param=field,
            )
    parallel = body.get("parallel_tool_calls") is not False
    choice = body.get("tool_choice")
    if choice is None:
        return ToolPolicy(offered=names, choice="auto", forced=None, parallel=parallel)
    if isinstance(choice, str):
        if choice not in ("none", "auto", "required"):
            raise InvalidRequest(
                f"Invalid value: {json.dumps(choice)}. Supported values are: 'none', 'auto', and 'required'.",
                param="tool_choice",
                code="invalid_value",
            )
        return ToolPolicy(offered=names, choice=choice, forced=None, parallel=parallel)
    if not isinstance(choice, dict):
        raise wrong_type("tool_choice", "one of a string or object", choice)
    kind = choice.get("type")
    if kind == "function":
        _only_keys(choice, "tool_choice", {"type", "function"})
        forced = _named_function(choice.get("function"), "tool_choice.function", names)
        return ToolPolicy(offered=frozenset({forced}), choice="function", forced=forced, parallel=parallel)
    if kind == "allowed_tools":
        _only_keys(choice, "tool_choice", {"type", "allowed_tools"})
        allowed = choice.get("allowed_tools")
        if not isinstance(allowed, dict):
            raise wrong_type("tool_choice.allowed_tools", "an object", allowed)
        _only_keys(allowed, "tool_choice.allowed_tools", {"mode", "tools"})
        mode = allowed.get("mode")
        if mode not in ("auto", "required"):
            raise InvalidRequest(
                f"Invalid value: {json.dumps(mode)}. Supported values are: 'auto' and 'required'.",
                param="tool_choice.allowed_tools.mode",
                code="invalid_value",
            )
        listed = allowed.get("tools")
        if not isinstance(listed, list) or not listed:
            raise wrong_type("tool_choice.allowed_tools.tools", "a non-empty array", listed)
        subset = set()
        for index, entry in enumerate(listed):
            where = f"tool_choice.allowed_tools.tools[{index}]"
            if not isinstance(entry, dict) or entry.get("type") != "function":
                raise not_emulated(where, "an allowed tool that is not {'type': 'function', ...}")
            subset.add(_named_function(entry.get("function"), f"{where}.function", names))
        return ToolPolicy(offered=frozenset(subset), choice=mode, forced=None, parallel=parallel)
    if kind == "custom":
        raise not_emulated("tool_choice.type", "tool_choice of type 'custom'")
    raise InvalidRequest(
        f"Invalid value: {json.dumps(kind)}. Supported values are: 'function', 'allowed_tools', and 'custom'.",
        param="tool_choice.type",
        code="invalid_value",
    )


def _named_function(function: Any, where: str, names: frozenset[str]) -> str:
    if not isinstance(function, dict):
        raise wrong_type(where, "an object", function)
    _only_keys(function, where, {"name"})
    name = function.get("name")
    if name is None:
        raise missing(f"{where}.name")
    if name not in names:
        raise InvalidRequest(
            f"Invalid value for '{where}.name': function {json.dumps(name)} is not among the functions in 'tools'.",
            param=f"{where}.name",
            code="invalid_value",
        )
    return name


def _only_keys(mapping: dict[str, Any], where: str, allowed: set[str]) -> None:
    for key in mapping:
        if key not in allowed:
            raise unknown(f"{where}.{key}")


def _check_tools(tools: Any) -> frozenset[str]:
    if not isinstance(tools, list):
        raise wrong_type("tools", "an array", tools)
    if not tools:
        raise empty_array("tools")
    names: list[str] = []
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise wrong_type(where, "an object", tool)
        if tool.get("type") == "custom":
            raise not_emulated(f"{where}.type", "custom tools")
        if tool.get("type") != "function":
            raise InvalidRequest(
                f"Invalid value: {json.dumps(tool.get('type'))}. Supported values are: 'function' and 'custom'.",
                param=f"{where}.type",
                code="invalid_value",
            )
        _only_keys(tool, where, {"type", "function"})
        function = tool.get("function")
        if function is None:
            raise missing(f"{where}.function")
        if not isinstance(function, dict):
            raise wrong_type(f"{where}.function", "an object", function)
        _only_keys(function, f"{where}.function", {"name", "description", "parameters", "strict"})
        if "name" not in function:
            raise missing(f"{where}.function.name")
        name = function["name"]
        check_tool_name(name, f"{where}.function.name")
        if name in names:
            raise InvalidRequest(
                f"Invalid 'tools': duplicate function name '{name}' (also tools[{names.index(name)}]).",
                param=f"{where}.function.name",
                code="invalid_value",
            )
        names.append(name)
        if function.get("description") is not None and not isinstance(function["description"], str):
            raise wrong_type(f"{where}.function.description", "a string", function["description"])
        strict = function.get("strict")
        if strict is not None and not isinstance(strict, bool):
            raise wrong_type(f"{where}.function.strict", "a boolean", strict)
        if function.get("parameters") is not None:
            _check_parameters(name, function["parameters"], bool(strict), f"{where}.function.parameters")
    return frozenset(names)


def _check_parameters(name: str, schema: Any, strict: bool, param: str) -> None:
    def invalid(reason: str) -> InvalidRequest:
        return InvalidRequest(
            f"Invalid schema for function '{name}': {reason}", param=param, code="invalid_function_parameters"
        )

    if not isinstance(schema, dict):
        raise wrong_type(param, "an object", schema)
    if schema and schema.get("type") != "object":
        raise invalid(
            f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{schema.get('type')}\"'."
        )
    if strict:
        _check_strict(schema, (), invalid)


def _check_strict(schema: Any, context: tuple[str, ...], invalid: Any) -> None:
    """Structured Outputs' rules: every object closes its properties and requires all of them."""
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "object" or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            raise invalid(
                f"In context={context}, 'additionalProperties' is required to be supplied and to be false."
            )
        properties = schema.get("properties") or {}
        required = schema.get("required") or []
        absent = [key for key in properties if key not in required]
        if absent:
            raise invalid(
                f"In context={context}, 'required' is required to be supplied and to be an array including "
                f"every key in properties. Missing '{absent[0]}'."
            )
        for key, sub in properties.items():
            _check_strict(sub, (*context, "properties", key), invalid)
    if "items" in schema:
        _check_strict(schema["items"], (*context, "items"), invalid)
    for keyword in ("anyOf", "allOf"):
        for position, sub in enumerate(schema.get(keyword) or []):
            _check_strict(sub, (*context, keyword, str(position)), invalid)
    for keyword in ("$defs", "definitions"):
        for key, sub in (schema.get(keyword) or {}).items():
            _check_strict(sub, (*context, keyword, key), invalid)
