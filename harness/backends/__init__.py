"""Backends by name, and the way callers build them without knowing any backend's options.

Each backend class declares its own `rest eval` flags and builds itself from
them (`BackendBase.add_args` / `from_args`); the registry holds lazy
"module:Class" references, so vLLM and llama.cpp cost nothing until chosen
(their classes import the engine only when built).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from harness.backends.base import Backend, BackendBase
from harness.registry import Registry
from harness.types import UserError

BACKENDS: Registry[type[BackendBase]] = Registry("backend")
BACKENDS.register_lazy("hf", "harness.backends.hf:HFBackend")
BACKENDS.register_lazy("vllm", "harness.backends.vllm:VLLMBackend")
BACKENDS.register_lazy("openai", "harness.backends.openai:OpenAIBackend")
BACKENDS.register_lazy("llamacpp", "harness.backends.llamacpp:LlamaCppBackend")


def backend_class(name: str) -> type[BackendBase]:
    """The class registered as `name` (an unknown name is a one-line UserError listing the known ones)."""
    return BACKENDS.get(name)


def make_backend(name: str, args: argparse.Namespace | None = None, **kwargs: Any) -> Backend:
    """Build backend `name` from parsed `rest eval` flags (`args`), or from constructor keywords.

    The CLI and the checkpoint callback build every backend through here (tests replace it with a fake).
    """
    cls = backend_class(name)
    return cls.from_args(args) if args is not None else cls(**kwargs)  # type: ignore[call-arg]


class _Recorder:
    """An argument container that keeps the actions added to it."""

    def __init__(self) -> None:
        self.parser = argparse.ArgumentParser(add_help=False)
        self.actions: list[argparse.Action] = []

    def add_argument(self, *names: str, **kwargs: Any) -> argparse.Action:
        self.actions.append(self.parser.add_argument(*names, **kwargs))
        return self.actions[-1]


def backend_flags(name: str) -> dict[str, argparse.Action]:
    """The flags backend `name` declares, by destination (`device`, `kv_budget_mb`...)."""
    recorder = _Recorder()
    backend_class(name).add_args(recorder)
    return {action.dest: action for action in recorder.actions}


def settings_argv(name: str, settings: Mapping[str, Any]) -> list[str]:
    """`rest eval` flags that give backend `name` these settings, keyed by flag destination.

    `None` leaves a flag at its default; a switch (`no_prefix_cache`) is passed when true.
    """
    flags = backend_flags(name)
    unknown = sorted(set(settings) - set(flags))
    if unknown:
        raise UserError(f"backend {name!r} has no `rest eval` flag for {', '.join(unknown)}; "
                        f"supported: {', '.join(flags)}")
    argv: list[str] = []
    for dest, value in settings.items():
        action = flags[dest]
        if action.nargs == 0:
            argv += [action.option_strings[0]] if value else []
        elif value is not None:
            argv += [action.option_strings[0], str(value)]
    return argv
