"""The task interface the runner drives, and the registry of task names.

A task knows its data, how to turn a sample into chat messages for a prompt
format, and how to score a completion. It knows nothing about backends.
Benchmarks register themselves from their own `tasks` module, listed in
`TASK_MODULES`, so adding a benchmark never edits the runner.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.types import Sample, UserError, Verdict


@dataclass
class Prompt:
    """What a backend receives for one sample: chat messages, plus tools for native FC."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None


@dataclass
class Scored:
    """A scored completion: the verdict and the calls decoded from the text."""

    verdict: Verdict
    decoded: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


class Task(Protocol):
    name: str  # "bfcl:simple_python"
    formats: tuple[str, ...]  # formats this task can be rendered in; first is the default

    def samples(self) -> list[Sample]: ...

    def prompt(self, sample: Sample, fmt: str) -> Prompt: ...

    def score(self, sample: Sample, completion: str, fmt: str, tool_calls: list[dict] | None = None) -> Scored: ...


# Modules that call `register` at import time.
TASK_MODULES = [
    "harness.bfcl.tasks",
    "harness.bfcl.multi_turn.tasks",
    "harness.apibank.tasks",
    "harness.apibank.original.tasks",
    "harness.toolrl_task",
]

_TASKS: dict[str, Callable[[], Task]] = {}
_GROUPS: dict[str, list[str]] = {}
_PREFIXES: dict[str, Callable[[str], Task]] = {}
_LOADED = False


def register(name: str, factory: Callable[[], Task]) -> None:
    _TASKS[name] = factory


def register_prefix(prefix: str, factory: Callable[[str], Task]) -> None:
    """Names `prefix<anything>` not registered otherwise are built on demand by `factory(name)` (e.g. `toolrl:<path>`)."""
    _PREFIXES[prefix] = factory


def _from_prefix(name: str) -> bool:
    """Register `name` through a prefix factory if one matches; True if it did."""
    for prefix, factory in _PREFIXES.items():
        if name.startswith(prefix) and len(name) > len(prefix):
            register(name, lambda name=name, factory=factory: factory(name))
            return True
    return False


def register_group(name: str, members: list[str]) -> None:
    _GROUPS[name] = list(members)


def _load_modules() -> None:
    global _LOADED
    if _LOADED:
        return
    for mod in TASK_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if not (exc.name and mod.startswith(exc.name)):  # benchmark not built in this checkout
                raise
    _LOADED = True


def known_tasks() -> list[str]:
    _load_modules()
    return sorted(_TASKS)


def known_groups() -> dict[str, list[str]]:
    _load_modules()
    return dict(_GROUPS)


def expand(spec: str) -> list[str]:
    """Turn "bfcl:simple_python,apibank:all" into task names, groups expanded, order kept."""
    _load_modules()
    out: list[str] = []
    for part in [p.strip() for p in spec.split(",") if p.strip()]:
        if part in _GROUPS:
            names = _GROUPS[part]
        elif part in _TASKS or _from_prefix(part):
            names = [part]
        else:
            hint = ", ".join(sorted(set(_GROUPS) | set(_TASKS))[:40])
            raise UserError(f"unknown task {part!r}; known tasks and groups: {hint}")
        for n in names:
            if n not in out:
                out.append(n)
    if not out:
        raise UserError("no tasks given")
    return out


def get(name: str) -> Task:
    _load_modules()
    if name not in _TASKS and not _from_prefix(name):
        raise UserError(f"unknown task {name!r}")
    return _TASKS[name]()
