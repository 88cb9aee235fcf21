"""The task interface the runner drives, and the registry of task names.

A task knows its data, how to turn a sample into chat messages for a prompt
format, and how to score a completion. It knows nothing about backends.
Benchmarks register themselves from their own `tasks` module, listed in
`TASK_MODULES`, so adding a benchmark never edits the runner.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from harness.records import Prompt, Scored
from harness.registry import Registry
from harness.types import Sample, UserError


class Task(Protocol):
    name: str  # "bfcl:simple_python"
    formats: tuple[str, ...]  # formats this task can be rendered in; first is the default
    protocol: str  # one line: which benchmark protocol scores it (shown by `rest eval --list-tasks`)

    def samples(self) -> list[Sample]: ...

    def prompt(self, sample: Sample, fmt: str) -> Prompt: ...

    def score(self, sample: Sample, completion: str, fmt: str, tool_calls: list[dict] | None = None) -> Scored: ...


class OwnMessagesTask:
    """Base of a task in one prompt format whose prompt is each sample's own chat messages.

    A subclass sets `name`, `formats = (THE_FORMAT,)` and `format_note` (what that format is, for the
    refusal of another one), and calls `check_format` from its `score`.
    """

    name: str
    formats: tuple[str, ...]
    format_note: str

    def check_format(self, fmt: str) -> None:
        """Refuse a prompt format other than the task's one."""
        if fmt != self.formats[0]:
            raise UserError(
                f"task {self.name} supports only the {self.formats[0]!r} format ({self.format_note}), not {fmt!r}"
            )

    def prompt(self, sample: Sample, fmt: str) -> Prompt:
        """The sample's own messages (copies, so the sample stays as loaded)."""
        self.check_format(fmt)
        return Prompt(messages=[dict(m) for m in sample.messages])


# Modules that register their tasks at import time.
TASK_MODULES = [
    "harness.bfcl.tasks",
    "harness.bfcl.multi_turn.tasks",
    "harness.apibank.tasks",
    "harness.apibank.original.tasks",
    "harness.toolrl.task",
]

TASKS: Registry[Callable[[], Task]] = Registry("task", TASK_MODULES)
_GROUPS: dict[str, list[str]] = {}


def register(name: str, factory: Callable[[], Task]) -> None:
    TASKS.register(name, factory)


def register_prefix(prefix: str, factory: Callable[[str], Task]) -> None:
    """Names `prefix<anything>` not registered otherwise are built on demand (e.g. `toolrl:<path>`)."""
    TASKS.register_prefix(prefix, lambda name: (lambda: factory(name)))


def register_group(name: str, members: list[str]) -> None:
    _GROUPS[name] = list(members)


def known_tasks() -> list[str]:
    return TASKS.names()


def describe(name: str) -> str:
    """`name`'s protocol line (building a task reads no data)."""
    return getattr(get(name), "protocol", "")


def formats_of(name: str) -> tuple[str, ...]:
    """The `--format` values task `name` runs in, its default first (building a task reads no data)."""
    return tuple(get(name).formats)


def known_groups() -> dict[str, list[str]]:
    TASKS.names()  # loads the task modules, which register the groups
    return dict(_GROUPS)


def expand(spec: str) -> list[str]:
    """Turn "bfcl:simple_python,apibank:all" into task names, groups expanded, order kept."""
    groups = known_groups()
    out: list[str] = []
    for part in [p.strip() for p in spec.split(",") if p.strip()]:
        if part in groups:
            names = groups[part]
        elif part in TASKS:
            names = [part]
        else:
            hint = ", ".join(sorted(set(groups) | set(TASKS.names()))[:40])
            raise UserError(f"unknown task {part!r}; known tasks and groups: {hint}")
        for n in names:
            if n not in out:
                out.append(n)
    if not out:
        raise UserError("no tasks given")
    return out


def task_format(task: Task, fmt: str) -> str:
    """The prompt format `task` runs in when asked for `fmt` ("auto" is the task's default)."""
    if fmt == "auto":
        return task.formats[0]
    if fmt not in task.formats:
        raise UserError(f"task {task.name} does not support format {fmt!r} (supported: {', '.join(task.formats)})")
    return fmt


def get(name: str) -> Task:
    if name not in TASKS:
        raise UserError(f"unknown task {name!r}")
    return TASKS.get(name)()
