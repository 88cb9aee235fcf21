"""BFCL's argument types: what each language's type names mean in Python, and the literal rules Java and JS share.

The checker type-checks every converted argument against these tables
(`checker_call`); the Java and JavaScript converters (`java_types`,
`js_types`) convert argument strings with regular expressions, and some
rules are the same in both: integers, booleans, and the untyped fallback to a
Python number or the text itself. Only numeric literals are folded (via
int()/float()); nothing is evaluated.
"""

from __future__ import annotations

import re
from typing import Any

# Type name in a function doc -> the Python type its (converted) argument must have, per language.
PY_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}

JAVA_TYPES: dict[str, type] = {
    **dict.fromkeys(("byte", "short", "integer", "long"), int),
    **dict.fromkeys(("float", "double"), float),
    "boolean": bool,
    **dict.fromkeys(("char", "String", "any"), str),
    **dict.fromkeys(("Array", "ArrayList", "Queue", "Stack"), list),
    "Set": set,
    **dict.fromkeys(("HashMap", "Hashtable"), dict),
}

JS_TYPES: dict[str, type] = {
    **dict.fromkeys(("String", "any"), str),
    **dict.fromkeys(("integer", "Bigint"), int),
    "float": float,
    "Boolean": bool,
    "dict": dict,
    "array": list,
}

INT = re.compile(r"^-?\d+$")


def int_or_text(text: str) -> Any:
    """An integer literal's value, else the text unchanged."""
    return int(text) if INT.match(text) else text


def bool_or_text(text: str) -> Any:
    """`true`/`false` as a bool, else the text unchanged."""
    return text == "true" if text in ("true", "false") else text


def number_or_text(text: str) -> Any:
    """int(text), else float(text), else the text itself (Python's own literal rules)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text
