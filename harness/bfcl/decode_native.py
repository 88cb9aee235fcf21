"""Decode JSON-shaped tool calls: BFCL's JSON return format and native FC outputs.

Each function mirrors the BFCL handler that reads that shape, so scores match:
- `decode_json_calls`: `parse_json_function_call` (ReturnFormat.JSON);
- `decode_tool_call_tags`: the Qwen FC handler's `<tool_call>` blocks (Hermes style);
- `decode_tool_calls_field`: OpenAI-style `tool_calls` from a chat API / chat template;
- `decode_llama_json`: the Llama 3.1 handler (`{"name", "parameters"}`, `;`-separated);
- `decode_mistral`: the Mistral FC handler (`[TOOL_CALLS][{"name", "arguments"}]`).
All return BFCL's decoded form `[{"name": {param: value}}]` or raise DecodeError.
Nothing is evaluated: where BFCL's Llama handler calls `eval`, we use `ast.literal_eval`.
BFCL's regular expressions (`_JSON_LIST`, `_TOOL_CALL`) take quadratic time on
text with many unclosed openings (`[{` or `<tool_call>` repeated: 240 KB took
20-70 s), so their matches are found by linear scans proved equal to them
(and tested against them); text over `decode_limits.MAX_TEXT_CHARS` is refused.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from typing import Any

from harness.bfcl.decode_limits import check_length, check_text
from harness.bfcl.errors import DecodeError

# BFCL's patterns, kept as the specification the linear scans below are tested against.
_JSON_LIST = re.compile(r"\[\s*{.*?}\s*(?:,\s*{.*?}\s*)*\]", re.DOTALL)
_TOOL_CALL = re.compile(r"<tool_call>\n(.*?)\n</tool_call>", re.DOTALL)
_TOOL_CALL_LENIENT = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)
_LIST_OPEN = re.compile(r"\[\s*{")
_LIST_CLOSE = re.compile(r"}\s*\]")


def json_list_span(text: str) -> str | None:
    r"""What `_JSON_LIST.search(text).group(0)` returns, in linear time (None for no match).

    Every match ends in `}\s*]`, and `{.*?}` can span anything, so a match
    starts at the leftmost `[\s*{` exactly when some `}\s*]` follows its `{`;
    the backtracking search then stops at the first such `}\s*]`, having
    passed every `}` before it in order. No later start can succeed when the
    leftmost one fails, which is where the regex spends quadratic time.
    """
    start = _LIST_OPEN.search(text)
    if start is None:
        return None
    close = _LIST_CLOSE.search(text, start.end())
    return None if close is None else text[start.start() : close.end()]


def tool_call_blocks(text: str, lenient: bool = False) -> list[str]:
    r"""What `_TOOL_CALL(_LENIENT).findall(text)` returns, in linear time.

    From each opening tag the lazy group ends at the first closing tag (strict:
    the first `\n</tool_call>`; lenient: the first `</tool_call>`, the group
    being the text between them stripped of whitespace, as `\s*` on both sides
    leaves it); when an opening tag has no closing tag after it, no later one
    has either, so the scan stops.
    """
    open_tag, close_tag = ("<tool_call>", "</tool_call>") if lenient else ("<tool_call>\n", "\n</tool_call>")
    blocks: list[str] = []
    position = 0
    while True:
        opening = text.find(open_tag, position)
        if opening < 0:
            return blocks
        begin = opening + len(open_tag)
        closing = text.find(close_tag, begin)
        if closing < 0:
            return blocks
        blocks.append(text[begin:closing].strip() if lenient else text[begin:closing])
        position = closing + len(close_tag)


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"invalid JSON: {exc}") from None


def _named_calls(calls: Iterable[Any], name_key: str, args_key: str, what: str = "call") -> list[dict[str, Any]]:
    """`[{call[name_key]: call[args_key]}, ...]`; a call that is no object with both keys is an error."""
    out = []
    for call in calls:
        if not isinstance(call, dict) or name_key not in call or args_key not in call:
            raise DecodeError(f"{what} lacks {name_key!r} or {args_key!r}")
        try:
            out.append({call[name_key]: call[args_key]})
        except TypeError:
            raise DecodeError("unhashable function name") from None
    return out


def _arguments_object(args: Any, parse_text: bool) -> dict:
    """A tool call's arguments, which must be an object; with `parse_text`, JSON text is parsed first."""
    if parse_text and isinstance(args, str):
        args = _loads(args)
    if not isinstance(args, dict):
        raise DecodeError("tool call arguments are not an object")
    return args


def decode_json_calls(source: str) -> list[dict[str, Any]]:
    """`[{"function": name, "parameters": {...}}, ...]`; unparseable JSON decodes to `[]` as in BFCL."""
    check_length(source)
    match = json_list_span(source)
    if match is not None:
        source = match
    try:
        data = json.loads(source)
    except json.JSONDecodeError:
        return []
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"invalid JSON: {exc}") from None
    if isinstance(data, (int, float, bool)) or data is None:
        raise DecodeError("JSON output is not a list")
    return _named_calls((item for item in data if isinstance(item, dict)), "function", "parameters", "JSON call")


def decode_tool_call_tags(text: str, *, lenient: bool = False) -> list[dict[str, dict]]:
    """`<tool_call>\\n{"name": .., "arguments": {..}}\\n</tool_call>` blocks, as BFCL's Qwen FC handler.

    Blocks whose JSON does not parse are skipped (BFCL does the same); no
    block at all gives `[]`. `lenient` (not BFCL) accepts any whitespace
    around the JSON and arguments given as a JSON string.
    """
    check_length(text)
    blocks = []
    for raw in tool_call_blocks(text, lenient):
        try:
            blocks.append(json.loads(raw))
        except (ValueError, RecursionError):
            continue
    out = []
    for block in blocks:
        if not isinstance(block, dict):
            raise DecodeError("tool call block is not a JSON object")
        if "name" not in block or "arguments" not in block:
            raise DecodeError("tool call block lacks 'name' or 'arguments'")
        args = _arguments_object(block["arguments"], parse_text=lenient)
        out.append({block["name"]: dict(args)})
    return out


def decode_tool_calls_field(tool_calls: list[dict] | None) -> list[dict[str, dict]]:
    """OpenAI-style `tool_calls` (`{"function": {"name", "arguments"}}` or flat), arguments as JSON text or dict."""
    out = []
    for call in tool_calls or []:
        if not isinstance(call, dict):
            raise DecodeError("tool call is not an object")
        fn = call.get("function", call)
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise DecodeError("tool call lacks a function name")
        args = _arguments_object(fn.get("arguments", fn.get("parameters", {})), parse_text=True)
        out.append({fn["name"]: args})
    return out


def decode_llama_json(text: str) -> list[dict[str, Any]]:
    """Llama 3.x JSON tool calls: `{"name", "parameters"}` objects, a list of them, or `;`-separated."""
    check_text(text)  # ast.literal_eval parses: memory grows with the text
    text = text.replace("<|python_tag|>", "")
    if ";" in text:
        calls = [_loads(part) for part in text.split(";")]
    else:
        try:
            calls = ast.literal_eval(text.strip())
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
            raise DecodeError(f"not a Python/JSON literal: {exc}") from None
        if isinstance(calls, dict):
            calls = [calls]
    if not isinstance(calls, (list, tuple)):
        raise DecodeError("expected a list of calls")
    return _named_calls(calls, "name", "parameters")


def decode_mistral(text: str) -> list[dict[str, Any]]:
    """Mistral `[TOOL_CALLS][{"name": .., "arguments": {..}}, ...]` (the tag is optional)."""
    check_length(text)
    body = text.strip()
    if body.startswith("[TOOL_CALLS]"):
        body = body[len("[TOOL_CALLS]") :]
    calls = _loads(body)
    if not isinstance(calls, list):
        raise DecodeError("Mistral tool calls are not a JSON list")
    return _named_calls(calls, "name", "arguments")


NATIVE_STYLES = {
    "hermes": decode_tool_call_tags,
    "llama": decode_llama_json,
    "mistral": decode_mistral,
}


def decode_native_text(text: str, style: str = "hermes") -> list[dict[str, Any]]:
    """Decode a native FC model's raw text by chat-template style: hermes (Qwen), llama or mistral."""
    if style not in NATIVE_STYLES:
        raise DecodeError(f"unknown native tool-call style {style!r}; expected one of {', '.join(NATIVE_STYLES)}")
    return NATIVE_STYLES[style](text)
