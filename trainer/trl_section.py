"""The `grpo:` and `sft:` config sections: any field of TRL's GRPOConfig / SFTConfig, plus a few of ours.

Rather than copying TRL's ~190 fields by hand (and falling behind TRL), a
section takes every init field of the TRL dataclass, with the names, types and
enum choices introspected from TRL itself (trainer/trl_fields.py), so an unknown
key is a one-line error with a close-match suggestion, before anything heavy is
imported. On top of TRL's fields:

- `ADDITIONS`: what TRL has not (`max_prompt_length`: drop longer prompts, as
  verl does; `pure_bf16`: bf16 weights and optimizer) or where we accept more
  (`bf16: auto`, `use_vllm: auto`: decided on the device when the run starts).
  They never reach TRL as given: trainer/run.py resolves them.
- `DEFAULTS`: the few places our default differs from TRL's and no preset sets
  it (the rest of our choices live in trainer/configs/*.yaml).
- `OWNED`: TRL fields another section sets (`output_dir`, W&B naming).

`trl_kwargs()` is what `trainer.run.grpo_args` / `sft_args` pass to TRL.
The old `extra:` mapping still works: its keys are merged up into the section.
"""

from __future__ import annotations

import functools
import operator
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

from harness.types import UserError
from trainer.trl_fields import TrlField, trl_fields, trl_label
from trainer.typed import check_choice, coerce, unknown_key

_TYPES = {"bool": bool, "int": int, "float": float, "str": str, "dict": dict, "list": list, "any": Any, "None": None}


@dataclass(frozen=True)
class Addition:
    """One of our fields: its type string (trainer/trl_fields.py's form), default and what it does."""

    type: str
    default: Any
    doc: str
    strings: tuple[str, ...] = ()  # the only strings a `bool|str` addition takes (`auto`)


def _atom(name: str) -> Any:
    name = name.strip()
    if name.startswith("list[") and name.endswith("]"):
        return list[_atom(name[5:-1])]  # type: ignore[misc]
    if name not in _TYPES:
        raise ValueError(f"unknown type {name!r} in a TRL field snapshot (regenerate with python -m trainer.trl_fields)")
    return type(None) if name == "None" else _TYPES[name]


def hint_of(type_str: str) -> Any:
    """`int|None`, `list[str]|str` -> the typing object `coerce` checks against (parsed, never evaluated)."""
    parts = [_atom(p) for p in type_str.split("|")]
    return functools.reduce(operator.or_, parts) if len(parts) > 1 else parts[0]


class TrlSection:
    """Values set in one section; unset fields read as our default, else TRL's."""

    TRL_CLASS: ClassVar[str]
    SECTION: ClassVar[str]
    ADDITIONS: ClassVar[dict[str, Addition]]
    DEFAULTS: ClassVar[dict[str, Any]]
    OWNED: ClassVar[dict[str, str]] = {
        "output_dir": "the top-level output_dir (or --output-dir)",
        "report_to": "wandb.enabled",
        "run_name": "wandb.run_name",
    }

    def __init__(self, **values: Any) -> None:
        object.__setattr__(self, "_values", {})
        for key, value in values.items():
            setattr(self, key, value)

    # -- schema -------------------------------------------------------------------------------------
    @classmethod
    def fields(cls) -> dict[str, TrlField]:
        out = dict(trl_fields(cls.TRL_CLASS))
        for name, add in cls.ADDITIONS.items():
            out[name] = TrlField(name, add.type, add.default)
        return out

    @classmethod
    def from_raw(cls, raw: Any, where: str) -> TrlSection:
        if isinstance(raw, cls):
            return raw
        if not isinstance(raw, dict):
            raise UserError(f"{where}: expected a mapping of {trl_label(cls.TRL_CLASS)} fields, got {raw!r}")
        raw = dict(raw)
        extra = raw.pop("extra", None) or {}
        if not isinstance(extra, dict):
            raise UserError(f"{where}.extra: expected a mapping, got {extra!r}")
        section = cls()
        for key, value in raw.items():
            section._set(key, value, where)
        for key, value in extra.items():  # the old passthrough: the same fields, one level down
            section._set(key, value, f"{where}.extra")
        return section

    def _set(self, key: str, value: Any, where: str) -> None:
        fields = self.fields()
        if key in self.OWNED:
            raise UserError(f"{where}.{key}: set by {self.OWNED[key]}, not in the {self.SECTION} section")
        if key not in fields:
            raise unknown_key(key, sorted(fields), where,
                              f"not a field of {trl_label(self.TRL_CLASS)} nor one of ours ({', '.join(self.ADDITIONS)})")
        f = fields[key]
        path = f"{where}.{key}"
        if f.choices and isinstance(value, bool):  # YAML 1.1 reads `save_strategy: no` as false
            value = {False: "no", True: "yes"}[value] if ("no" if not value else "yes") in f.choices else value
        value = coerce(value, hint_of(f.type), path)
        if f.choices and isinstance(value, str):
            check_choice(value, f.choices, path)
        add = self.ADDITIONS.get(key)
        if add and add.strings and isinstance(value, str) and value not in add.strings:
            raise UserError(f"{path}: expected true, false or {' or '.join(add.strings)}, got {value!r}")
        self._values[key] = value

    # -- values -------------------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._values:
            return self._values[name]
        if name in self.DEFAULTS:
            return self.DEFAULTS[name]
        fields = self.fields()
        if name in fields:
            return fields[name].default
        raise AttributeError(f"{self.SECTION}.{name}: not a field of {trl_label(self.TRL_CLASS)} nor one of ours")

    def __setattr__(self, name: str, value: Any) -> None:
        self._set(name, value, self.SECTION)

    def is_set(self, name: str) -> bool:
        """Whether the config (not a default) gave this field."""
        return name in self._values

    def to_dict(self) -> dict[str, Any]:
        """What the config set, then our defaults it did not override (TRL's own defaults are left out)."""
        return {**self._values, **{k: v for k, v in self._defaults().items() if k not in self._values}}

    def _defaults(self) -> dict[str, Any]:
        return {**{k: a.default for k, a in self.ADDITIONS.items()}, **self.DEFAULTS}

    def trl_kwargs(self) -> dict[str, Any]:
        """Fields to hand to TRL as they are (our additions are resolved by the caller)."""
        return {k: v for k, v in self.to_dict().items() if k not in self.ADDITIONS}

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == typing.cast(TrlSection, other).to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()!r})"


_BF16 = Addition("bool|str", "auto", "true/auto: fp32 master weights + bf16 autocast where the device has bf16; false: fp32",
                 ("auto",))
_PURE_BF16 = Addition("bool", False, "bf16 weights and optimizer (opt-in: at lr 1e-6 most updates round away)")


class GrpoConfig(TrlSection):
    """`grpo:`: any TRL GRPOConfig field, plus max_prompt_length, pure_bf16, bf16/use_vllm `auto`."""

    TRL_CLASS = "GRPOConfig"
    SECTION = "grpo"
    ADDITIONS = {
        "max_prompt_length": Addition("int|None", 2048, "drop prompts longer than this many tokens (TRL 1.16 has no "
                                      "such option; verl filters them too)"),
        "bf16": _BF16,
        "pure_bf16": _PURE_BF16,
        "use_vllm": Addition("bool|str", False, "true, false, or auto: colocated vLLM when it is installed and a GPU is present",
                             ("auto",)),
    }
    DEFAULTS = {
        "gradient_checkpointing": False,  # TRL: true; recomputing activations only pays off for big models (paper presets)
        "logging_steps": 1,  # TRL: 10; the schedules and metrics.jsonl are read per step
    }


class SftTrainConfig(TrlSection):
    """`sft:`: any TRL SFTConfig field, plus pure_bf16 and bf16 `auto`."""

    TRL_CLASS = "SFTConfig"
    SECTION = "sft"
    ADDITIONS = {"bf16": _BF16, "pure_bf16": _PURE_BF16}
    DEFAULTS = {
        "gradient_checkpointing": False,  # TRL: true
        "logging_steps": 1,  # TRL: 10
        "save_strategy": "no",  # save the final model only, unless save_steps is set (see trl_kwargs)
        "completion_only_loss": True,  # the loss (and region weights) cover the assistant turn only
        "packing": False,  # one row per sequence: the region labeller reads each completion whole
    }

    def _set(self, key: str, value: Any, where: str) -> None:
        if key == "save_steps" and value is None:  # config.yaml of runs before the sections took TRL's fields
            self._values.pop("save_steps", None)
            return
        super()._set(key, value, where)

    def trl_kwargs(self) -> dict[str, Any]:
        out = super().trl_kwargs()
        if self.is_set("save_steps") and not self.is_set("save_strategy"):
            out["save_strategy"] = "steps"  # `save_steps: 50` alone means: save every 50 steps
        return out
