"""`rest eval --config FILE.yaml`: a run as a file people can share.

Every `rest eval` flag is a key (`batch-size` or `batch_size`); flags given on the
command line win over the file; an unknown key is a one-line error naming it.
To know which flags the command line gave (a flag given with its default value
still wins), the `rest eval` parser records them (`EvalParser`). The resolved
settings (file and command line merged, pass-through options parsed) are what
summary.json records under `settings`.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
from pathlib import Path
from typing import Any

from harness.types import UserError

MAPPING_FLAGS = ("model_args", "gen_kwargs", "chat_template_kwargs")  # keys that may hold a mapping in a file
NOT_SETTINGS = ("config", "help", "func", "command", "list_tasks")  # never keys of a file or of the record


class EvalParser(argparse.ArgumentParser):
    """The `rest eval` parser: it also records, as `explicit_flags`, the destinations the command line gave."""

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:  # type: ignore[override]
        parsed, rest = super().parse_known_args(args, namespace)
        parsed.explicit_flags = frozenset(self._given(args))
        return parsed, rest

    def _given(self, args: Any) -> set[str]:
        """Parse again with every default suppressed: what remains was on the command line."""
        saved, defaults = [(a, a.default) for a in self._actions], self._defaults
        try:
            for action in self._actions:
                action.default = argparse.SUPPRESS
            self._defaults = {}
            probe, _ = super().parse_known_args(args, None)
        finally:
            for action, default in saved:
                action.default = default
            self._defaults = defaults
        return set(vars(probe)) - {"explicit_flags"}


@functools.lru_cache(maxsize=1)
def eval_actions() -> dict[str, argparse.Action]:
    """The `rest eval` flags by destination (every backend's included)."""
    from harness.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in sub.choices["eval"]._actions if a.dest not in NOT_SETTINGS}


def read_config(path: str) -> dict[str, Any]:
    """The file's mapping (YAML or JSON); unreadable or not a mapping is a one-line UserError."""
    import yaml

    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--config {path}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"--config {path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"--config {path}: expected a mapping of rest eval flags, got {type(data).__name__}")
    return data


def config_value(action: argparse.Action, value: Any, what: str) -> Any:
    """A file value as the flag would have parsed it (lists join with commas for --tasks and --ids)."""
    bad = UserError(f"{what}: {value!r} is not a value of --{action.dest.replace('_', '-')}")
    if action.nargs == 0:
        if not isinstance(value, bool):
            raise UserError(f"{what} is a switch: give true or false, got {value!r}")
        return value
    if value is None:
        if action.default is None:
            return None
        raise bad
    if isinstance(value, dict) and action.dest in MAPPING_FLAGS:
        return value
    if isinstance(value, (bool, dict)):
        raise bad
    if isinstance(value, (list, tuple)):
        if action.type is not None:
            raise bad
        value = ",".join(str(v) for v in value)
    try:
        if action.type is int:
            out: Any = value if isinstance(value, int) else int(value) if isinstance(value, str) else None
        elif action.type is float:
            out = float(value)
        elif callable(action.type):  # e.g. --batch-size: an integer or auto
            out = action.type(value if isinstance(value, str) else str(value))
        else:
            out = str(value)
    except (TypeError, ValueError, argparse.ArgumentTypeError):
        raise bad from None
    if out is None:
        raise bad
    if action.choices and out not in action.choices:
        raise UserError(f"{what}: {out!r} is not one of {', '.join(map(str, action.choices))}")
    return out


def apply_config(args: argparse.Namespace) -> None:
    """Fill the flags the command line did not give from `args.config` (in place); idempotent."""
    path = getattr(args, "config", None)
    if not path or getattr(args, "config_applied", None) == path:
        return
    actions = eval_actions()
    explicit = set(getattr(args, "explicit_flags", None) or ())
    seen: dict[str, str] = {}
    from_file: set[str] = set()
    for key, value in read_config(path).items():
        dest = str(key).replace("-", "_")
        if dest not in actions:
            raise UserError(f"--config {path}: unknown key {key!r} (not a rest eval flag; see rest eval --help)")
        if dest in seen:
            raise UserError(f"--config {path}: {key!r} and {seen[dest]!r} name the same flag")
        seen[dest] = str(key)
        if dest not in explicit:
            setattr(args, dest, config_value(actions[dest], value, f"--config {path}: {key}"))
            from_file.add(dest)
    args.explicit_flags = frozenset(explicit | from_file)
    args.config_applied = path


def resolved_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Every `rest eval` setting as this run resolved it, with the config file (path and sha256) it came from."""
    flags = {dest: getattr(args, dest, None) for dest in eval_actions()}
    out: dict[str, Any] = {"flags": {k: (dict(v) if isinstance(v, dict) else v) for k, v in flags.items()}}
    path = getattr(args, "config", None)
    if path:
        resolved = Path(path).expanduser().resolve()
        out["config"] = {"path": str(resolved), "sha256": hashlib.sha256(resolved.read_bytes()).hexdigest()}
    return out
