"""The fields of TRL's `GRPOConfig` / `SFTConfig` (names, types, defaults, choices), read without importing TRL.

The `grpo:` / `sft:` config sections accept any field of those dataclasses
(trainer/trl_section.py). Importing trl pulls in torch and transformers (seconds
on a quiet machine), and a config error must cost one line and a fraction of a
second, so the fields are introspected from TRL's own dataclasses once per
(trl, transformers) version pair: `trl_fields.json` beside this file ships the
pair the project pins; for another installed pair they are introspected live
(the slow import, once) and cached under the user cache dir.
`tests/trainer/test_trl_fields.py` checks the shipped file against the
installed TRL; regenerate it with `python -m trainer.trl_fields`.

Types are stored as small strings our config coercion understands: `bool`,
`int`, `float`, `str`, `dict`, `any`, `list[T]` and unions `a|b|None`. An enum
or `Literal` of strings becomes `str` with `choices`; a float field whose
default is an int (save_steps 500) is `int|float`, so `save_steps: 15` stays 15.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import importlib.metadata
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

from harness.config import cache_root

SNAPSHOT = Path(__file__).with_name("trl_fields.json")
CLASSES = ("GRPOConfig", "SFTConfig")
_ORDER = ("bool", "int", "float", "list", "dict", "str", "any", "None")


@dataclasses.dataclass(frozen=True)
class TrlField:
    """One init field of a TRL config dataclass."""

    name: str
    type: str
    default: Any
    choices: tuple[str, ...] | None = None


def installed_versions() -> dict[str, str]:
    """Versions of the packages whose dataclasses define the fields (cheap: package metadata only)."""
    out = {}
    for pkg in ("trl", "transformers"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "absent"
    return out


# ---------------------------------------------------------------- introspection (imports trl)


def _arms(tp: Any, default: Any) -> tuple[list[str], list[str]]:
    """(type names, string choices) of one annotation."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        names: list[str] = []
        choices: list[str] = []
        for arg in typing.get_args(tp):
            n, c = _arms(arg, default)
            names += n
            choices += c
        return names, choices
    if tp is type(None):
        return ["None"], []
    if tp is bool:
        return ["bool"], []
    if tp is int:
        return ["int"], []
    if tp is float:
        return (["int", "float"] if isinstance(default, int) and not isinstance(default, bool) else ["float"]), []
    if tp is str:
        return ["str"], []
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return ["str"], [str(e.value) for e in tp]
    if origin is typing.Literal:
        lits = typing.get_args(tp)
        if all(isinstance(v, bool) for v in lits):
            return ["bool"], []
        return ["str"], [str(v) for v in lits if isinstance(v, str)]
    if origin is list or tp is list:
        (item,) = typing.get_args(tp) or (Any,)
        inner, _ = _arms(item, None)
        return [f"list[{inner[0] if len(inner) == 1 else 'any'}]"], []
    if origin is dict or tp is dict:
        return ["dict"], []
    return ["any"], []


def type_string(tp: Any, default: Any = None) -> tuple[str, tuple[str, ...] | None]:
    """An annotation -> (`int|None`-style type string, choices or None), in a canonical order."""
    names, choices = _arms(tp, default)
    uniq = sorted(set(names), key=lambda n: _ORDER.index(n.split("[")[0]))
    enum_only = choices and "str" in uniq
    return "|".join(uniq), (tuple(dict.fromkeys(choices)) if enum_only else None)


def _plain_default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    try:
        json.dumps(value)
    except TypeError:
        return None  # no such default in TRL 1.16; a fresh object TRL builds itself
    return value


def introspect() -> dict[str, Any]:
    """Read the fields from the installed TRL (slow: imports trl, transformers, torch)."""
    import trl

    out: dict[str, Any] = {"versions": installed_versions()}
    for name in CLASSES:
        cls = getattr(trl, name)
        hints = typing.get_type_hints(cls)
        fields = {}
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                default = None
            tp, choices = type_string(hints.get(f.name, Any), default)
            fields[f.name] = {"type": tp, "default": _plain_default(default), **({"choices": list(choices)} if choices else {})}
        out[name] = fields
    return out


# ---------------------------------------------------------------- lookup (cheap)


def _cache_file(versions: dict[str, str]) -> Path:
    return cache_root() / "trl_fields" / f"trl-{versions['trl']}_transformers-{versions['transformers']}.json"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The field table for the installed versions: the shipped snapshot, the user cache, or live introspection."""
    versions = installed_versions()
    for path in (SNAPSHOT, _cache_file(versions)):
        data = _read(path)
        if data and data.get("versions") == versions:
            return data
    data = introspect()
    try:
        cache = _cache_file(versions)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(data, indent=1, sort_keys=True))
    except OSError:
        pass  # a read-only home: introspect again next time
    return data


def trl_fields(cls_name: str) -> dict[str, TrlField]:
    """Name -> TrlField of one TRL config dataclass (`GRPOConfig` or `SFTConfig`)."""
    table = schema()[cls_name]
    return {n: TrlField(n, f["type"], f["default"], tuple(f["choices"]) if f.get("choices") else None)
            for n, f in table.items()}


def trl_label(cls_name: str) -> str:
    return f"TRL {schema()['versions']['trl']}'s {cls_name}"


def main() -> int:
    """Write the snapshot for the installed versions (after upgrading trl or transformers)."""
    data = introspect()
    SNAPSHOT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT} for {data['versions']}: " + ", ".join(f"{c} {len(data[c])} fields" for c in CLASSES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
