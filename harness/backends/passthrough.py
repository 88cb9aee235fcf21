"""`--model-args`, `--gen-kwargs`, `--chat-template-kwargs`: options handed through to a backend, as lm-eval has them.

Syntax as lm-eval's: `key=value,key2=value2` (commas inside brackets or quotes do
not split) or one JSON object; values read as true/false/none, integers, floats,
Python literals (`['\\n\\n']`, `"0"`), else text. A config file may give a mapping.

Each backend declares what it honours (`BackendBase.model_arg_keys`,
`gen_kwarg_keys`, `takes_chat_template_kwargs`); any other key is a one-line
error before anything loads, never dropped in silence. Keys that name one of the
backend's own flags (`dtype`, `device`, `max_model_len`...) set that flag, and
`--gen-kwargs` temperature/top_p/max_new_tokens (lm-eval's `max_gen_toks`)/seed set
the general flags, so lm-eval command lines carry over; a key that contradicts
a flag given on the command line is refused. `stop` (lm-eval's `until`) cuts the
answer; `enable_thinking` in `--model-args` joins the chat-template options, as in lm-eval.
"""

from __future__ import annotations

import argparse
import ast
import json
from typing import Any

from harness.backends.base import BackendBase, GenParams
from harness.types import UserError

FLAGS = {"model_args": "--model-args", "gen_kwargs": "--gen-kwargs", "chat_template_kwargs": "--chat-template-kwargs"}
CORE_GEN = {"temperature": ("temperature", float), "top_p": ("top_p", float), "seed": ("seed", int),
            "max_new_tokens": ("max_new_tokens", int), "max_gen_toks": ("max_new_tokens", int)}
STOP_KEYS = ("stop", "until")
GENERAL_DEFAULTS = {"temperature": 0.0, "top_p": 1.0, "seed": 0, "max_new_tokens": 256}


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets, braces and quotes."""
    parts, buf, depth, quote = [], [], 0, None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[({":
            depth += 1
        elif char in "])}":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            parts.append("".join(buf))
            buf = []
            continue
        buf.append(char)
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


def _value(text: str) -> Any:
    """One `value` of `key=value`: true/false/none, a number, a Python literal, else the text itself."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text.strip()


def parse_options(value: Any, flag: str) -> dict[str, Any]:
    """`key=value,...`, a JSON object, or a mapping (config files) -> dict; malformed input is a UserError."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    if not isinstance(value, str):
        raise UserError(f"{flag} takes key=value,... or a mapping, got {type(value).__name__}")
    if value.strip().startswith("{"):
        try:
            data = json.loads(value)
        except ValueError as exc:
            raise UserError(f"{flag}: not a JSON object ({exc})") from None
        if not isinstance(data, dict):
            raise UserError(f"{flag}: not a JSON object")
        return data
    out: dict[str, Any] = {}
    for item in _split_top_level(value):
        key, eq, raw = item.partition("=")
        if not eq or not key.strip():
            raise UserError(f"{flag}: expected key=value, got {item!r}")
        out[key.strip()] = _value(raw)
        try:  # run.json and summary.json record the options: sets, bytes and the like cannot be recorded
            json.dumps(out[key.strip()], allow_nan=False)
        except (TypeError, ValueError):
            raise UserError(f"{flag}: {item!r} is not a JSON value (use a list, a number, true/false or text)") from None
    return out


def _explicit(args: argparse.Namespace, dest: str, default: Any) -> bool:
    """Whether flag `dest` was given on the command line (or set by a config file); without that record, whether
    it differs from its default."""
    given = getattr(args, "explicit_flags", None)
    return dest in given if given is not None else getattr(args, dest, default) != default


def _convert(value: Any, kind: Any, what: str) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise UserError(f"{what} must be true or false, got {value!r}")
        return value
    if kind in (int, float):
        ok = isinstance(value, int) if kind is int else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok:
            raise UserError(f"{what} must be {'an integer' if kind is int else 'a number'}, got {value!r}")
        return kind(value)
    return value if kind is None or value is None else kind(str(value))


def _fold(args: argparse.Namespace, dest: str, value: Any, kind: Any, default: Any, given_as: str) -> None:
    """Set flag `dest` from a pass-through key, unless the command line already gave it another value."""
    value = _convert(value, kind, given_as)
    if _explicit(args, dest, default) and getattr(args, dest, default) != value:
        raise UserError(f"{given_as}={value!r} contradicts --{dest.replace('_', '-')} {getattr(args, dest)!r}; "
                        "give it once")
    setattr(args, dest, value)


def _refuse(cls: type[BackendBase], flag: str, key: str, takes: list[str]) -> UserError:
    return UserError(f"{flag} {key}: the {cls.name} backend cannot honour it "
                     f"(it takes: {', '.join(sorted(takes)) or 'none'})")


def resolve(args: argparse.Namespace, cls: type[BackendBase]) -> None:
    """Parse the three pass-through flags on `args` (in place) and check every key against backend `cls`.

    Afterwards `args.model_args`, `args.gen_kwargs` and `args.chat_template_kwargs` are dicts holding only
    what the backend applies itself; keys that name flags have been moved onto those flags. Idempotent.
    """
    from harness.backends import backend_flags

    model_args = parse_options(getattr(args, "model_args", None), FLAGS["model_args"])
    gen = parse_options(getattr(args, "gen_kwargs", None), FLAGS["gen_kwargs"])
    template = parse_options(getattr(args, "chat_template_kwargs", None), FLAGS["chat_template_kwargs"])
    if "enable_thinking" in model_args:  # lm-eval's model argument for the chat template
        thinking = model_args.pop("enable_thinking")
        if template.get("enable_thinking", thinking) != thinking:
            raise UserError("--model-args enable_thinking contradicts --chat-template-kwargs enable_thinking")
        template["enable_thinking"] = thinking
    if template and not cls.takes_chat_template_kwargs:
        raise UserError(f"--chat-template-kwargs: the {cls.name} backend cannot pass options to its chat template")
    flags = backend_flags(cls.name)
    for key in [k for k in model_args if k in flags and k not in cls.model_arg_keys]:
        action = flags[key]
        kind = bool if action.nargs == 0 else action.type
        _fold(args, key, model_args.pop(key), kind, action.default, f"--model-args {key}")
    for key in model_args:
        if key not in cls.model_arg_keys:
            raise _refuse(cls, "--model-args", key, [*cls.model_arg_keys, *flags])
    for key in [k for k in gen if k in CORE_GEN]:
        dest, kind = CORE_GEN[key]
        _fold(args, dest, gen.pop(key), kind, GENERAL_DEFAULTS[dest], f"--gen-kwargs {key}")
    stops = [gen.pop(k) for k in STOP_KEYS if k in gen]
    if stops:
        gen["stop"] = _stop_list(stops)
    for key in gen:
        if key != "stop" and key not in cls.gen_kwarg_keys:
            raise _refuse(cls, "--gen-kwargs", key, [*CORE_GEN, *STOP_KEYS, *cls.gen_kwarg_keys])
    args.model_args, args.gen_kwargs, args.chat_template_kwargs = model_args, gen, template


def _stop_list(values: list[Any]) -> list[str]:
    out: list[str] = []
    for v in values:
        items = [v] if isinstance(v, str) else v
        if not isinstance(items, (list, tuple)) or not all(isinstance(s, str) and s for s in items):
            raise UserError(f"--gen-kwargs stop/until must be a string or a list of non-empty strings, got {v!r}")
        out += [s for s in items if s not in out]
    return out


def _resolved(args: argparse.Namespace, name: str) -> dict[str, Any]:
    value = getattr(args, name, None)
    if value is not None and not isinstance(value, dict):
        value = parse_options(value, FLAGS[name])  # read before resolve(): what was asked for
    return dict(value or {})


def gen_params(args: argparse.Namespace) -> GenParams:
    """The sampling settings `rest eval` flags ask for (run `resolve` first)."""
    extra = _resolved(args, "gen_kwargs")
    stop = extra.pop("stop", [])
    return GenParams(max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p,
                     seed=args.seed, stop=list(stop), extra=extra)


def requested_passthrough(args: argparse.Namespace) -> dict[str, Any]:
    """The pass-through options that shape generation, for --resume comparisons (only those given)."""
    out = {name: _resolved(args, name) for name in FLAGS}
    return {k: v for k, v in out.items() if v}


def backend_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Constructor keywords a backend takes from the pass-through flags (only those given)."""
    out = {"model_args": _resolved(args, "model_args"), "chat_template_kwargs": _resolved(args, "chat_template_kwargs")}
    return {k: v for k, v in out.items() if v}
