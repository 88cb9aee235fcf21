"""Front door for decoding BFCL model outputs into calls.

`decode_ast` mirrors `default_decode_ast_prompting(text, fmt, has_tool_call_tag=False)`:
same preprocessing, same values, and a `DecodeError` exactly where the
official decoder raises, except that nothing is ever evaluated (see
docs/bfcl_decoding.md for the few deliberate divergences, all raised as
`UnsafeExpression`). Native tool-call outputs go through `decode_native`.
"""

from __future__ import annotations

import re
from typing import Any

from harness.bfcl.decode_java_js import parse_java, parse_javascript
from harness.bfcl.decode_limits import check_length
from harness.bfcl.decode_native import (
    decode_json_calls,
    decode_llama_json,
    decode_mistral,
    decode_native_text,
    decode_tool_call_tags,
    decode_tool_calls_field,
)
from harness.bfcl.decode_python import parse_calls, preprocess
from harness.bfcl.errors import DecodeError, UnsafeExpression
from harness.types import Call

LANGUAGES = ("python", "java", "javascript", "json")


def decode_ast(text: str, language: str = "python", *, keep_positional: bool = False) -> Any:
    """Decode prompting-mode text into BFCL's `[{"func": {"param": value}}]` form.

    `language` is the return format: "python", "java", "javascript" or "json".
    For Java the official decoder returns `{}` and for JavaScript `None` when
    no call is found; both are returned unchanged (`is_empty_output` is True).
    `keep_positional` (python only, not BFCL) keeps positional args under 0, 1, ...
    """
    if not isinstance(text, str):
        raise DecodeError(f"expected model text, got {type(text).__name__}")
    check_length(text)
    if language == "python":
        return parse_calls(text, keep_positional=keep_positional)
    wrapped = preprocess(text)
    if language == "java":
        return parse_java(wrapped[1:-1])
    if language == "javascript":
        return parse_javascript(wrapped[1:-1])
    if language == "json":
        match = re.search(r"\[.*\]", wrapped, re.DOTALL)
        return decode_json_calls(match.group(0) if match else wrapped)
    raise DecodeError(f"unknown return format {language!r}; expected one of {', '.join(LANGUAGES)}")


def decode_calls(text: str, language: str = "python") -> list[Call]:
    """Decode text into `Call`s; a decoded value that is not a list of calls is a DecodeError."""
    decoded = decode_ast(text, language)
    return to_calls(decoded)


def to_calls(decoded: Any) -> list[Call]:
    """Turn BFCL's decoded form into `Call`s (empty for `{}`/`None`/`[]`)."""
    if not decoded:
        return []
    if not is_function_calling_format(decoded):
        raise DecodeError("decoded output is not a list of {name: {param: value}} calls")
    return [Call(name=name, args=dict(args)) for item in decoded for name, args in item.items()]


def decode_execute(text: str) -> list[str]:
    """Mirror `default_decode_execute_prompting`: decoded calls re-rendered as call strings."""
    decoded = parse_calls(text)
    try:
        return [f"{name}({_render_args(args)})" for item in decoded for name, args in item.items()]
    except DecodeError:
        raise
    except Exception as exc:  # IndexError for `{}` values, ValueError for huge ints, as BFCL
        raise DecodeError(f"{type(exc).__name__}: {exc}") from None


def _render_args(args: dict) -> str:
    return ", ".join(f"{k}={_render_value(v)}" for k, v in args.items())


def _render_value(value: Any) -> str:
    """BFCL's `parse_nested_value`: a dict of dicts is a nested call (first key), else repr."""
    if isinstance(value, dict):
        if all(isinstance(v, dict) for v in value.values()):
            name = list(value)[0]  # IndexError on {} exactly like BFCL
            return f"{name}({_render_args(value[name])})"
        return "{" + ", ".join(f"'{k}': {_render_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


def is_function_calling_format(decoded: Any) -> bool:
    """True for a list of single-key dicts whose value is a dict (`[]` included), as BFCL."""
    if type(decoded) is not list:
        return False
    for item in decoded:
        if type(item) is not dict or len(item) != 1:
            return False
        if type(next(iter(item.values()))) is not dict:
            return False
    return True


def is_empty_output(decoded: Any) -> bool:
    """Mirror `bfcl_eval.utils.is_empty_output`: no usable call in the decoded output."""
    if not is_function_calling_format(decoded):
        return True
    return len(decoded) == 0 or (len(decoded) == 1 and len(decoded[0]) == 0)


def safe_json(decoded: Any) -> Any:
    """A JSON-serialisable copy of a decoded value (tuples -> lists; other odd values and keys -> repr)."""
    return _jsonable(decoded)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k if isinstance(k, str) else repr(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


__all__ = [
    "DecodeError",
    "UnsafeExpression",
    "LANGUAGES",
    "decode_ast",
    "decode_calls",
    "decode_execute",
    "decode_json_calls",
    "decode_llama_json",
    "decode_mistral",
    "decode_native_text",
    "decode_tool_call_tags",
    "decode_tool_calls_field",
    "is_empty_output",
    "is_function_calling_format",
    "safe_json",
    "to_calls",
]
