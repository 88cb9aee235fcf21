"""Java literal text -> Python value, as BFCL's checker converts Java arguments.

BFCL asks Java-category models for every argument as a string of Java source
(`"5"`, `"3.0f"`, `"new ArrayList<>(Arrays.asList(1, 2))"`) and converts it
before comparing with the possible answers. Text the converter does not
recognise stays a string (and then usually fails the type check). The rules
below reproduce that conversion exactly, quirks included, because the
verdict must equal the official one. Only numeric literals are folded (via
int()/float()); nothing is evaluated.
"""

from __future__ import annotations

import re
from typing import Any

from harness.bfcl.checker_types import JAVA_TYPES, bool_or_text, int_or_text, number_or_text

# Numeric literals: `3.0f`, `3.0` / `3e5`, `5L`, and the suffixes the converter strips.
_FLOAT_F = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?[fF]$")
_DOUBLE = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_LONG = re.compile(r"^-?\d+[lL]$")
_F_SUFFIX = re.compile(r"[fF]$")
_L_SUFFIX = re.compile(r"[lL]$")


def convert_java(text: str, java_type: str, item_type: str | None = None) -> Any:
    """Convert one Java-source argument string for a parameter of `java_type`.

    Raises ValueError for a type BFCL does not know and NotImplementedError
    for the collection types it never implemented (Set, Hashtable, Queue,
    Stack); both only depend on the function docs, never on model output.
    """
    if java_type not in JAVA_TYPES:
        raise ValueError(f"Unsupported type: {java_type}")
    if java_type in ("byte", "short", "integer"):
        return int_or_text(text)
    if java_type == "float":
        return float(_F_SUFFIX.sub("", text)) if _FLOAT_F.match(text) else text
    if java_type == "double":
        return float(text) if _DOUBLE.match(text) else text
    if java_type == "long":
        return int(_L_SUFFIX.sub("", text)) if _LONG.match(text) else text
    if java_type == "boolean":
        return bool_or_text(text)
    if java_type in ("char", "String", "any"):
        # BFCL's char pattern can never match, so chars stay as written.
        return text
    if java_type == "ArrayList":
        return _array_list(text, item_type)
    if java_type == "Array":
        return _array(text, item_type)
    if java_type == "HashMap":
        return _hash_map(text)
    raise NotImplementedError(f"{java_type} conversion is not implemented")


def _element(text: str, item_type: str | None) -> Any:
    if item_type in ("char", "String"):
        return text[1:-1]  # drop the quotes, whatever they are
    return convert_java(text, item_type) if item_type else java_value(text)


# `new ArrayList<>(Arrays.asList(a, b))`, `new ArrayList<>() {{ add(a); add(b); }}`, `new ArrayList<>()`.
_AS_LIST = re.compile(r"new\s+ArrayList<\w*>\(Arrays\.asList\((.+?)\)\)")
_BRACE_INIT = re.compile(r"new\s+ArrayList<\w*>\(\)\s*\{\{\s*(.+?)\s*\}\}", re.DOTALL)
_ADD = re.compile(r"add\((.+?)\)")
_EMPTY_LIST = re.compile(r"new\s+ArrayList<\w*>\(\)")


def _array_list(text: str, item_type: str | None) -> Any:
    m = _AS_LIST.search(text)
    if m:
        return [_element(part.strip(), item_type) for part in m.group(1).split(",")]
    m = _BRACE_INIT.search(text)
    if m:
        return [_element(arg.strip(), item_type) for arg in _ADD.findall(m.group(1))]
    if _EMPTY_LIST.search(text):
        return []
    return text


# `new int[] {a, b}`.
_ARRAY = re.compile(r"new\s+\w+\[\]\s*\{(.*?)\}")


def _array(text: str, item_type: str | None) -> Any:
    m = _ARRAY.search(text)
    if not m:
        return text
    parts = [p.strip() for p in m.group(1).split(",") if p.strip()]
    if item_type:
        return [convert_java(p, item_type) for p in parts]
    return [java_value(p) for p in parts]


# `new HashMap<>() {{ put("k", v); }}` and `new HashMap<>()`.
_HASHMAP = re.compile(r"new\s+HashMap<.*?>\s*\(\)\s*\{\s*\{?\s*(.*?)\s*\}?\s*\}", re.DOTALL)
_PUT = re.compile(r"put\(\"(.*?)\",\s*(.*?)\)")
_EMPTY_MAP = re.compile(r"new\s+HashMap<.*?>\s*\(\)")


def _hash_map(text: str) -> Any:
    m = _HASHMAP.search(text)
    if m:
        body = m.group(1)
        out: dict[str, Any] = {}
        if body.strip():
            for key, val in _PUT.findall(body):
                out[key] = java_value(val.strip())
        return out
    if _EMPTY_MAP.search(text):
        return {}
    return text


def java_value(text: str) -> Any:
    """Guess the value of an untyped Java literal (collection elements)."""
    if text == "true":
        return True
    if text == "false":
        return False
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if _LONG.match(text):
        return int(text[:-1])
    if _FLOAT_F.match(text):
        return float(_F_SUFFIX.sub("", text))
    return number_or_text(text)
