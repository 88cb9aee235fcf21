"""Benchmark aggregates with their n and a 95% interval (pure): the machinery every benchmark's metrics share.

A benchmark declares its aggregation beside its checker (`harness/bfcl/metrics.py`,
`harness/apibank/metrics.py`) as an `Aggregator` and registers it in
`AGGREGATORS`; a run's summary and the leaderboards both read that registry,
so neither knows any benchmark's formula.

Single categories get a Wilson interval. Weighted aggregates get a percentile
bootstrap over items, each category resampled on its own
(`harness.stats.intervals.bootstrap`), so the interval reflects how few items a small
category really has. One bootstrap pass records every aggregate of a
benchmark at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.registry import Registry
from harness.stats.intervals import bootstrap, percentile_interval, wilson

ALPHA = 0.05
Counts = dict[str, tuple[int, int]]  # category -> (correct, total)
Scores = dict[str, dict[str, Any]]  # aggregate name -> {"value": float, "complete": bool}


@dataclass(frozen=True)
class Aggregator:
    """One benchmark's aggregation: which tasks feed it, how their counts combine, how a board lays it out."""

    benchmark: str  # key in summary.json's aggregates and column prefix, e.g. "bfcl" -> "bfcl/overall"
    task_prefix: str  # tasks feeding it, e.g. "bfcl:"
    title: str  # board column group of its aggregates
    compute: Callable[[Counts], Scores]  # per-category counts -> aggregates (value + complete)
    position: int = 100  # benchmarks are listed (summaries, board columns, headline choice) lowest first
    aggregate_order: tuple[str, ...] = ("overall",)  # aggregate columns in this order, then the rest by name
    task_order: tuple[str, ...] = ()  # category columns in this order, then the rest by name
    task_title: str = ""  # board column group of its categories (default: `title`)


# Modules that register their benchmark's aggregator at import time.
METRIC_MODULES = ["harness.bfcl.metrics", "harness.apibank.metrics"]

AGGREGATORS: Registry[Aggregator] = Registry("aggregator", METRIC_MODULES)


def aggregators() -> list[Aggregator]:
    """Every registered aggregator, in listing order."""
    return sorted((AGGREGATORS.get(n) for n in AGGREGATORS.names()), key=lambda a: (a.position, a.benchmark))


def wilson_cell(correct: int, total: int) -> dict[str, Any]:
    """A single proportion's cell: accuracy, counts and its Wilson 95% interval."""
    lo, hi = wilson(correct, total)
    return {"accuracy": correct / total if total else None, "correct": correct, "total": total,
            "ci95": [lo, hi], "method": "wilson"}


def _value(compute: Callable[[Counts], Scores], counts: Counts, key: str) -> float | None:
    got = compute(counts).get(key)
    return None if got is None else got["value"]


def _feeders(compute: Callable[[Counts], Scores], counts: Counts, key: str) -> list[str]:
    """Categories an aggregate depends on: those whose all-wrong and all-right extremes move it."""
    out = []
    for cat, (_, n) in counts.items():
        if n and _value(compute, {**counts, cat: (0, n)}, key) != _value(compute, {**counts, cat: (n, n)}, key):
            out.append(cat)
    return out


def aggregate_cells(outcomes: dict[str, list[int]], compute: Callable[[Counts], Scores],
                    n_boot: int = 1000, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Point value, n and bootstrap 95% interval of every aggregate `compute` returns.

    Aggregates that no measured category feeds are dropped; the n of an
    aggregate is the number of measured items that feed it.
    """
    outcomes = {k: list(v) for k, v in outcomes.items() if v}
    if not outcomes:
        return {}
    counts = {k: (sum(v), len(v)) for k, v in outcomes.items()}
    point = compute(counts)
    feeders = {k: _feeders(compute, counts, k) for k in point}
    keys = [k for k in point if feeders[k]]
    if not keys:
        return {}
    recorded: dict[str, list[float]] = {k: [] for k in keys}

    def statistic(sample: dict[str, list[int]]) -> float:
        vals = compute({k: (sum(v), len(v)) for k, v in sample.items()})
        for k in keys:
            recorded[k].append(vals[k]["value"])
        return recorded[keys[0]][-1]

    bootstrap(outcomes, statistic, n_boot=n_boot, seed=seed, alpha=ALPHA)
    cells = {}
    for k in keys:
        lo, hi = percentile_interval(recorded[k], ALPHA)
        n = sum(counts[c][1] for c in feeders[k])
        c = sum(counts[c][0] for c in feeders[k])
        acc = point[k]["value"]
        micro = abs(acc - c / n) < 1e-12
        if micro and len(feeders[k]) == 1:  # one category: it is a single proportion, so Wilson as elsewhere
            cells[k] = {**wilson_cell(c, n), "complete": point[k]["complete"], "categories": 1}
            continue
        method = "bootstrap"
        if hi - lo < 1e-12:  # every feeding category all-right or all-wrong: resampling cannot vary
            lo, hi = wilson(round(acc * n), n)  # an n-item proportion's interval, flagged as such
            method = "wilson-fallback"
        cells[k] = {"accuracy": acc, "correct": c if micro else None, "total": n, "ci95": [lo, hi],
                    "method": method, "complete": point[k]["complete"], "categories": len(feeders[k])}
    return cells


def feed_of(agg: Aggregator, tasks: list[str], outcomes: dict[str, list[int]]) -> dict[str, list[int]]:
    """The per-category outcomes `agg` reads: its tasks among `tasks`, keyed by category (task name after ':')."""
    return {t.split(":", 1)[1]: outcomes.get(t) or [] for t in tasks if t.startswith(agg.task_prefix)}


def benchmark_cells(tasks: list[str], outcomes: dict[str, list[int]], n_boot: int = 1000,
                    seed: int = 0) -> dict[str, dict[str, dict[str, Any]]]:
    """Every registered benchmark's aggregate cells over the measured `tasks`: {benchmark: {aggregate: cell}}."""
    out = {}
    for agg in aggregators():
        feed = feed_of(agg, tasks, outcomes)
        cells = aggregate_cells(feed, agg.compute, n_boot=n_boot, seed=seed) if feed else {}
        if cells:
            out[agg.benchmark] = cells
    return out
