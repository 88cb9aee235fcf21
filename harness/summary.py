"""Turn per-sample records into a run summary (pure).

Samples whose generation failed are counted apart (`failed`) and excluded
from accuracy: they are retried by `--resume`, never silently scored 0.
Benchmark aggregates (BFCL V4 subscores, API-Bank micro-overall) are added
when their tasks are present, by the aggregators each benchmark registers
(`harness.aggregation`), the same code the leaderboards use.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from harness.aggregation import benchmark_cells
from harness.records import SampleRecord, TaskResult
from harness.stats import wilson


def _records(records: Iterable[SampleRecord | dict[str, Any]]) -> list[SampleRecord]:
    """Typed records; dicts (samples lines as read from disk, old runs included) are converted."""
    return [r if isinstance(r, SampleRecord) else SampleRecord.from_json(r) for r in records]


def task_summary(records: Iterable[SampleRecord | dict[str, Any]]) -> TaskResult:
    """One task's counts, accuracy with its Wilson 95% interval, error types and tokens.

    The caller sets `format`, `planned` and `available`, which the records do not know.
    """
    recs = _records(records)
    scored = [r for r in recs if not r.failed]
    correct = sum(1 for r in scored if r.valid)
    total = len(scored)
    lo, hi = wilson(correct, total)
    errors = Counter(r.error_type or "none" for r in scored if not r.valid)
    return TaskResult(
        correct=correct,
        total=total,
        accuracy=correct / total if total else None,
        ci95=[lo, hi],
        failed=len(recs) - total,
        error_types=dict(errors.most_common()),
        prompt_tokens=sum(int(r.prompt_tokens or 0) for r in recs),
        completion_tokens=sum(int(r.completion_tokens or 0) for r in recs),
    )


def outcomes_of(records: Iterable[SampleRecord | dict[str, Any]]) -> list[int]:
    """Per-item 0/1 outcomes of the scored samples (failed generations excluded)."""
    return [1 if r.valid else 0 for r in _records(records) if not r.failed]


def benchmark_aggregates(per_task: dict[str, TaskResult], outcomes: dict[str, list[int]] | None = None,
                         n_boot: int = 1000) -> dict[str, Any]:
    """Benchmark aggregates, each with its n and a 95% interval: {benchmark: {aggregate: cell}}.

    Weighted aggregates get a bootstrap over items (Wilson when one category
    feeds them). `value` follows the benchmark's official rule (BFCL: a missing
    category counts 0); `complete` is False where BFCL would display N/A.
    """
    measured = [t for t, s in per_task.items() if s.total]
    return benchmark_cells(measured, outcomes or {}, n_boot=n_boot)
