"""The typed records every layer exchanges: what a backend is asked, what a scorer says, what a run writes.

`Prompt` goes from a task to a backend; `Scored` from a task's checker to the
runner; a `SampleRecord` is one line of `samples/<task>.jsonl`; a `TaskResult`
and a `RunSummary` make `summary.json`. The runner writes them; the report,
the boards, `rest score`, the trainer's checkpoint evaluation and `rest
compare` read them. Plain types only (no torch, no I/O), like inspect_ai's
`EvalLog`: a run on disk is a typed log.

Reading is tolerant: keys a record does not know are kept in `extra` and
written back unchanged, and keys it lacks get their defaults, so samples and
summaries from older (and newer) versions of the harness still read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from harness.types import Verdict

SUMMARY_SCHEMA = "rest-harness/summary/v1"


@dataclass
class Prompt:
    """What a backend receives for one sample: chat messages, plus tools for native function calling."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None


@dataclass
class Scored:
    """A scored completion: the verdict and the calls decoded from the text."""

    verdict: Verdict
    decoded: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


class _Json:
    """JSON round trip for a record dataclass: unknown keys live in `extra` and are written back as they came."""

    extra: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}  # type: ignore[arg-type]
        return {**data, **self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any]):
        names = {f.name for f in fields(cls)} - {"extra"}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names},
                   extra={k: v for k, v in data.items() if k not in names})


@dataclass
class SampleRecord(_Json):
    """One line of samples/<task>.jsonl: one item, the text generated for it and the checker's verdict.

    `backend_error` is set (and `valid` False) when generation failed for the item.
    """

    id: str
    task: str = ""
    format: str = ""
    repeat: int = 0  # which of the item's `--repeats` samples this is (0 when one sample per item)
    prompt_hash: str | None = None  # the prompt as handed to the backend: prompts/<task>.jsonl holds its text
    gen: dict[str, Any] | None = None  # sampling settings of this sample (max_new_tokens, temperature, top_p, seed)
    completion: str = ""
    tool_calls: list[dict[str, Any]] | None = None
    decoded: Any = None
    valid: bool = False
    error_type: str | None = None
    errors: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    backend_error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    reasoning: str | None = None  # a thinking model's reasoning, apart from the answer (harness/reasoning.py)
    reasoning_tokens: int | None = None  # its length in tokens, where the backend knows it
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, sample: Any, fmt: str, completion: Any, scored: Scored | None, repeat: int = 0,
           prompt_hash: str | None = None, gen: dict[str, Any] | None = None) -> SampleRecord:
        """The record of `sample` given its backend `Completion` and (unless generation failed) its `Scored`."""
        verdict = scored.verdict if scored else None
        return cls(
            id=sample.id, task=sample.task, format=fmt, repeat=repeat, prompt_hash=prompt_hash, gen=gen,
            completion=completion.text,
            tool_calls=completion.tool_calls, decoded=scored.decoded if scored else None,
            valid=bool(verdict.valid) if verdict else False,
            error_type=verdict.error_type if verdict else None,
            errors=list(verdict.errors[:5]) if verdict else [],
            detail={k: v for k, v in (verdict.detail or {}).items() if k != "decoded"} if verdict else {},
            backend_error=completion.error, prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens, latency_s=round(completion.latency_s, 4),
            reasoning=getattr(completion, "reasoning", None), reasoning_tokens=getattr(completion, "reasoning_tokens", None),
        )

    @property
    def failed(self) -> bool:
        """Generation failed for this item (no verdict was given)."""
        return bool(self.backend_error)



@dataclass
class TaskResult(_Json):
    """One task's entry in summary.json: counts, accuracy with its 95% interval, errors, tokens, coverage.

    `planned` is the number of items this run covers (after --limit), `available` the task's full
    size, so a board can tell a subset from the benchmark.
    """

    correct: int = 0
    total: int = 0
    accuracy: float | None = None
    ci95: list[float] = field(default_factory=lambda: [0.0, 0.0])
    failed: int = 0
    error_types: dict[str, int] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    format: str = ""
    planned: int = 0
    available: int = 0
    accuracy_excl_failed: float | None = None  # correct / scored: the figure `--exclude-failed` shows
    repeats: int = 1  # samples per item; with more than one, the counts above count samples
    pass_at_k: float | None = None  # share of items with at least one right sample (repeats > 1)
    flip_rate: float | None = None  # share of items whose samples disagree (repeats > 1)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def held(self) -> int:
        """Items the run holds a sample for (scored or failed)."""
        return (self.total + self.failed) // max(1, self.repeats)



@dataclass
class RunSummary:
    """summary.json: what ran (model, backend, format, generation settings), per-task results, aggregates."""

    model: str = ""
    backend: dict[str, Any] = field(default_factory=dict)
    format: str = "auto"
    limit: int | None = None
    generation: dict[str, Any] = field(default_factory=dict)
    tasks: dict[str, TaskResult] = field(default_factory=dict)
    aggregates: dict[str, dict[str, Any]] = field(default_factory=dict)
    complete: bool = True
    timings: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    finished_at: str = ""
    tasks_carried_over: list[str] | None = None
    settings_history: list[dict[str, Any]] | None = None
    provenance: dict[str, Any] = field(default_factory=dict)  # commit, command, model/template/data hashes, seeds
    repeats: int = 1
    schema: str = SUMMARY_SCHEMA
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def summarized_from_samples(self) -> bool:
        return bool(self.backend.get("summarized_from_samples"))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"schema": self.schema}
        for f in fields(self):
            if f.name in ("extra", "schema"):
                continue
            value = getattr(self, f.name)
            if f.name in ("tasks_carried_over", "settings_history") and value is None:
                continue
            data[f.name] = {k: t.to_json() for k, t in value.items()} if f.name == "tasks" else value
        return {**data, **self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSummary:
        names = {f.name for f in fields(cls)} - {"extra", "tasks"}
        tasks = data.get("tasks") or {}
        return cls(**{k: v for k, v in data.items() if k in names},
                   tasks={k: TaskResult.from_json(v) for k, v in tasks.items()},
                   extra={k: v for k, v in data.items() if k not in names and k != "tasks"})

