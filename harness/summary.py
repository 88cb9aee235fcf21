"""Turn per-sample records into a run summary (pure).

A sample whose generation failed counts as wrong in the headline accuracy (as
in BFCL's evaluator) and is counted apart (`failed`); `--resume` generates it
again, and `accuracy_excl_failed` gives the figure without it.
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
from harness.stats.intervals import bootstrap, wilson


def _records(records: Iterable[SampleRecord | dict[str, Any]]) -> list[SampleRecord]:
    """Typed records; dicts (samples lines as read from disk, old runs included) are converted."""
    return [r if isinstance(r, SampleRecord) else SampleRecord.from_json(r) for r in records]


def task_summary(records: Iterable[SampleRecord | dict[str, Any]]) -> TaskResult:
    """One task's counts, accuracy with its Wilson 95% interval, error types and tokens.

    The headline accuracy counts a failed generation as wrong, as BFCL's evaluator does (a run
    whose server timed out on half the items must not look as good as one that answered them);
    `accuracy_excl_failed` is the other figure. With several samples per item (`--repeats`) the
    counts count samples, the accuracy is avg@k, and `pass_at_k` and `flip_rate` are per item.
    The caller sets `format`, `planned` and `available`, which the records do not know.
    """
    recs = _records(records)
    scored = [r for r in recs if not r.failed]
    correct = sum(1 for r in scored if r.valid)
    total = len(scored)
    failed = len(recs) - total
    errors = Counter(r.error_type or "none" for r in scored if not r.valid)
    if failed:
        errors["generation_failed"] = failed
    per_item = _per_item(recs)
    repeats = max((len(v) for v in per_item.values()), default=1)
    if repeats > 1:  # samples of one item are not independent: resample items, each with its mean
        means = [sum(v) / len(v) for v in per_item.values()]
        lo, hi = bootstrap({"items": means}, lambda g: sum(g["items"]) / len(g["items"]), n_boot=1000, seed=0)
    else:
        lo, hi = wilson(correct, total + failed)
    return TaskResult(
        correct=correct,
        total=total,
        accuracy=correct / (total + failed) if total + failed else None,
        ci95=[lo, hi],
        failed=failed,
        error_types=dict(errors.most_common()),
        prompt_tokens=sum(int(r.prompt_tokens or 0) for r in recs),
        completion_tokens=sum(int(r.completion_tokens or 0) for r in recs),
        accuracy_excl_failed=correct / total if total else None,
        repeats=repeats,
        pass_at_k=sum(1 for v in per_item.values() if any(v)) / len(per_item) if repeats > 1 else None,
        flip_rate=sum(1 for v in per_item.values() if len(set(v)) > 1) / len(per_item) if repeats > 1 else None,
    )


def _per_item(recs: list[SampleRecord]) -> dict[str, list[int]]:
    """id -> 0/1 outcome of each of its samples, a failed generation counting 0 (the headline's rule)."""
    out: dict[str, list[int]] = {}
    for r in recs:
        out.setdefault(r.id, []).append(1 if r.valid and not r.failed else 0)
    return out


def outcomes_of(records: Iterable[SampleRecord | dict[str, Any]]) -> list[float]:
    """Per-item outcomes for the aggregates' bootstrap: 0/1, or with `--repeats` the item's share of right
    samples (so the bootstrap resamples items, not correlated samples of one item)."""
    return [sum(v) / len(v) if len(v) > 1 else v[0] for v in _per_item(_records(records)).values()]


def benchmark_aggregates(per_task: dict[str, TaskResult], outcomes: dict[str, list[int]] | None = None,
                         n_boot: int = 1000) -> dict[str, Any]:
    """Benchmark aggregates, each with its n and a 95% interval: {benchmark: {aggregate: cell}}.

    Weighted aggregates get a bootstrap over items (Wilson when one category
    feeds them). `value` follows the benchmark's official rule (BFCL: a missing
    category counts 0); `complete` is False where BFCL would display N/A.
    """
    measured = [t for t, s in per_task.items() if s.total]
    return benchmark_cells(measured, outcomes or {}, n_boot=n_boot)


def run_aggregates(per_task: dict[str, TaskResult], outcomes: dict[str, list[float]], repeats: int = 1,
                   n_boot: int = 1000) -> dict[str, Any]:
    """The summary's aggregates: each benchmark's from per-item outcomes (avg@k with repeats), and with
    `repeats` > 1 also its pass@k figures under "<benchmark> pass@<k>" (an item counts when any sample is right)."""
    out = benchmark_aggregates(per_task, outcomes, n_boot=n_boot)
    if repeats > 1:
        passes = {t: [1 if x > 0 else 0 for x in v] for t, v in outcomes.items()}
        for bench, cells in benchmark_aggregates(per_task, passes, n_boot=n_boot).items():
            out[f"{bench} pass@{repeats}"] = cells
    return out
