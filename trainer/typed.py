"""Typed construction of config dataclasses from YAML values: coercion, unknown keys, choices, one-line errors.

Shared by the RL and SFT configs (trainer/config.py, trainer/sft_config.py) and
the TRL sections (trainer/trl_section.py). Pure: no torch, no TRL.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from typing import Any

from harness.types import UserError

_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def coerce(value: Any, tp: Any, where: str) -> Any:
    """Check `value` against a type hint, converting the harmless cases (int->float, "1e-5"->float).

    A type with a `from_raw(value, where)` classmethod (a TRL section) builds itself.
    """
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        opts = typing.get_args(tp)
        if value is None and type(None) in opts:
            return None
        for opt in opts:
            if opt is type(None):
                continue
            try:
                return coerce(value, opt, where)
            except UserError:
                continue
        want = " or ".join("null" if o is type(None) else _type_name(o) for o in opts)
        raise UserError(f"{where}: expected {want}, got {value!r}")
    if tp is Any:
        return value
    if isinstance(tp, type) and hasattr(tp, "from_raw"):
        return tp.from_raw(value, where)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise UserError(f"{where}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise UserError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str) and _FLOAT_RE.match(value.strip()):
            number = float(value)
        if number is None:
            raise UserError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(number):  # YAML's .nan/.inf: NaN passes every `<= 0` check, and no setting means either
            raise UserError(f"{where}: expected a finite number, got {value!r}")
        return number
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise UserError(f"{where}: expected a string, got {value!r}")
    if origin is list or tp is list:
        (item_tp,) = typing.get_args(tp) or (Any,)
        if isinstance(value, str):  # `--set eval.tasks=a,b`
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise UserError(f"{where}: expected a list, got {value!r}")
        return [coerce(v, item_tp, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected a mapping of {', '.join(f.name for f in dataclasses.fields(tp))}, got {value!r}")
        return build(tp, value, where)
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    return value  # unknown annotation (e.g. an Enum in WeightConfig): its own __post_init__ validates


def unknown_key(key: str, names: list[str], prefix: str, known: str | None = None) -> UserError:
    """`unknown config key 'a.b'; did you mean 'a.c'?` (or the known keys when nothing is close)."""
    where = f"{prefix}.{key}" if prefix else str(key)
    close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
    if close:
        return UserError(f"unknown config key {where!r}; did you mean {(prefix + '.' if prefix else '') + close[0]!r}?")
    return UserError(f"unknown config key {where!r}; {known or 'known keys: ' + ', '.join(names)}")


def build(cls: type, raw: dict[str, Any], prefix: str) -> Any:
    """Instantiate dataclass `cls` from `raw`, rejecting unknown keys with a suggestion."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in names:
            raise unknown_key(key, names, prefix)
        kwargs[key] = coerce(value, hints.get(key, Any), f"{prefix}.{key}" if prefix else str(key))
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{prefix or 'config'}: {str(exc).splitlines()[0]}") from None


def check_choice(value: Any, choices: tuple[str, ...], where: str) -> None:
    if value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UserError(f"{where}: {value!r} is not one of {', '.join(choices)}{hint}")
