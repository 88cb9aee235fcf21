"""JavaScript literal text -> Python value, as BFCL's checker converts JS arguments.

Like Java, JavaScript-category arguments arrive as strings of source text
(`"'abc'"`, `"true"`, `"[1, 2]"`, `"{a: 1}"`) and are converted with
regular expressions before comparison; unrecognised text stays a string.
These rules reproduce BFCL's conversion exactly, quirks included (the array
and object parsers are shallow regex splitters, not a JS parser).
"""

from __future__ import annotations

import re
from typing import Any

from harness.bfcl.checker_types import JS_TYPES, bool_or_text, int_or_text, number_or_text

# Numeric literals: `3.5` (float) and `5n` (Bigint).
_FLOAT = re.compile(r"^-?\d+(\.\d+)?$")
_BIGINT = re.compile(r"^-?\d+n$")


def _quoted(text: str) -> bool:
    return (text.startswith('"') and text.endswith('"')) or (text.startswith("'") and text.endswith("'"))


def convert_js(text: str, js_type: str, item_type: str | None = None) -> Any:
    """Convert one JS-source argument string for a parameter of `js_type`."""
    if js_type not in JS_TYPES:
        raise ValueError(f"Unsupported type: {js_type}")
    if js_type == "String":
        return text[1:-1] if _quoted(text) else text
    if js_type == "integer":
        return int_or_text(text)
    if js_type == "float":
        return float(text) if _FLOAT.match(text) else text
    if js_type == "Bigint":
        return int(text[:-1]) if _BIGINT.match(text) else text
    if js_type == "Boolean":
        return bool_or_text(text)
    if js_type == "dict":
        return _object(text.strip())
    if js_type == "array":
        return _array(text.strip(), item_type)
    return text  # any


# `[[1, 2], [3]]` / `new Array([1], [2])`, `[1, 2]` / `new Array(1, 2)`, and the rows of a 2-D array.
_ARRAY_2D = re.compile(r"\[\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\]|\bnew\s+Array\(\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\)")
_ARRAY_1D = re.compile(r"\[(.*?)\]|\bnew\s+Array\((.*?)\)")
_BRACKETS = re.compile(r"\[(.*?)\]")


def _array(code: str, item_type: str | None) -> Any:
    try:
        m = _ARRAY_2D.match(code)
        if m:
            rows = []
            for idx, row in enumerate(_BRACKETS.findall(m.group(0))):
                row = row.strip()
                if idx == 0 and row.startswith("["):
                    row = row[1:]
                rows.append([js_value(part.strip()) for part in row.split(",")])
            return rows
        m = _ARRAY_1D.match(code)
        if not m:
            return code
        body = m.group(1) if m.group(1) is not None else m.group(2)
        body = body.strip() if body is not None else ""
        parts = body.split(",") if body else []
        if item_type:
            out = []
            for part in parts:
                part = part.strip()
                if part.startswith("'") or part.startswith('"'):
                    out.append(convert_js(part, item_type, "String"))
                else:
                    out.append(convert_js(part, item_type))
            return out
        return [js_value(part.strip()) for part in parts]
    except Exception:  # BFCL falls back to the raw text on any failure
        return code


# `{a: 1, b: [2]}` and its `key: value` pairs.
_OBJECT = re.compile(r"\{(.*?)\}")
_PAIR = re.compile(r"([^:]+):\s*(.*?)(?:,\s*(?=[^,]+:)|$)")


def _object(code: str) -> Any:
    if code == "{}":
        return {}
    m = _OBJECT.match(code)
    if not m:
        return code
    try:
        out: dict[str, Any] = {}
        for key, val in _PAIR.findall(m.group(1)):
            key = key.strip().strip("'\"")
            val = val.strip()
            if val.startswith("[") and val.endswith("]"):
                out[key] = _array(val.strip(), None)
            elif val.startswith("{") and val.endswith("}"):
                out[key] = _object(val.strip())
            else:
                out[key] = js_value(val.strip("'\""))
        return out
    except Exception:
        return code


def js_value(text: str) -> Any:
    """Guess the value of an untyped JS literal (collection elements)."""
    text = text.strip()
    if text == "true":
        return True
    if text == "false":
        return False
    if _quoted(text):
        return text[1:-1]
    return number_or_text(text)
