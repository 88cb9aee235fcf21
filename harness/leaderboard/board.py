"""Runs -> leaderboard (pure): one row per run, every accuracy with its n and a 95% interval.

Single categories get a Wilson interval. Weighted aggregates (BFCL's V4
subscores and overall, API-Bank's micro overall) get a percentile bootstrap
over items, each category resampled on its own (`harness.stats.bootstrap`),
so the interval reflects how few items a small category really has. One
bootstrap pass records every aggregate of a benchmark at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.stats import bootstrap, wilson
from harness.types import UserError

BOARD_SCHEMA = "rest-harness/leaderboard/v1"
ALPHA = 0.05
Counts = dict[str, tuple[int, int]]

_BFCL_ORDER = ["simple_python", "simple_java", "simple_javascript", "multiple", "parallel", "parallel_multiple",
               "irrelevance", "live_simple", "live_multiple", "live_parallel", "live_parallel_multiple",
               "live_irrelevance", "live_relevance", "multi_turn_base", "multi_turn_miss_func",
               "multi_turn_miss_param", "multi_turn_long_context"]
# BFCL's own display order: headline groups first, then their parts
_AGG_ORDER = ["overall", "non_live", "live", "hallucination", "multi_turn", "agentic", "simple", "relevance",
              "web_search", "memory"]
PRIMARY_CANDIDATES = ("bfcl/overall", "apibank/overall", "apibank-original/overall")


def norm_key(key: str) -> str:
    """'Non-Live' -> 'non_live': aggregate names as column keys, stable across spellings."""
    return re.sub(r"[^a-z0-9]+", "_", str(key).lower()).strip("_")


Scores = dict[str, dict[str, Any]]  # aggregate name -> {"value": float, "complete": bool}


def bfcl_scores(counts: Counts) -> Scores:
    """BFCL V4 subscores and overall from per-category (correct, total), via harness.bfcl.aggregate.

    `complete` is False when a member category was not run: BFCL then counts it
    as 0 in the number and would display N/A; boards show the number, marked.
    """
    try:
        from harness.bfcl.aggregate import SHIPPED_COUNTS, bfcl_summary
    except ImportError:
        return {}
    out = bfcl_summary({k: v for k, v in counts.items() if k in SHIPPED_COUNTS})
    scores: Scores = {"overall": out["overall"]}
    for key, val in out.get("subscores", {}).items():
        scores.setdefault(norm_key(key), val)
    return {k: {"value": float(v["value"]), "complete": bool(v.get("complete", True))} for k, v in scores.items()}


def micro_scores(counts: Counts) -> Scores:
    """API-Bank's overall: micro-average over all items (ToolRL/ResT convention)."""
    c = sum(k for k, _ in counts.values())
    n = sum(t for _, t in counts.values())
    return {"overall": {"value": c / n, "complete": True}} if n else {}


API_BANK_LEVELS = frozenset({"level-1", "level-2", "level-3"})


def apibank_scores(counts: Counts) -> Scores:
    """API-Bank's overall, marked incomplete unless all three levels were run.

    The value stays the micro-average of the levels run (there is no official
    "count it 0" rule here); the mark keeps a Level-1-only overall from passing
    for the three-level figure papers report.
    """
    scores = micro_scores(counts)
    if scores:
        scores["overall"]["complete"] = API_BANK_LEVELS <= set(counts)
    return scores


@dataclass(frozen=True)
class Aggregator:
    benchmark: str  # column key prefix, e.g. "bfcl" -> "bfcl/overall"
    task_prefix: str  # tasks feeding it, e.g. "bfcl:"
    title: str  # column group
    compute: Callable[[Counts], Scores]


AGGREGATORS = (
    Aggregator("bfcl", "bfcl:", "BFCL V4 scores", bfcl_scores),
    Aggregator("apibank", "apibank:", "API-Bank (ToolRL protocol)", apibank_scores),
    Aggregator("apibank-original", "apibank-original:", "API-Bank (original protocol)", apibank_scores),
)


def wilson_cell(correct: int, total: int) -> dict[str, Any]:
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
        vals = sorted(recorded[k])  # same percentile rule as harness.stats.bootstrap
        lo, hi = vals[int(ALPHA / 2 * (n_boot - 1))], vals[int((1 - ALPHA / 2) * (n_boot - 1))]
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


def run_cells(run: dict[str, Any], n_boot: int = 1000, seed: int = 0) -> dict[str, dict[str, Any]]:
    """All cells of one measured run: a Wilson cell per task, bootstrap cells per benchmark aggregate."""
    tasks = (run.get("summary") or {}).get("tasks") or {}
    cells = {t: wilson_cell(int(s.get("correct") or 0), int(s.get("total") or 0))
             for t, s in tasks.items() if s.get("total")}
    outcomes = run.get("outcomes") or {}
    for agg in AGGREGATORS:
        feed = {t.split(":", 1)[1]: outcomes.get(t) or [] for t in cells if t.startswith(agg.task_prefix)}
        for key, cell in aggregate_cells(feed, agg.compute, n_boot=n_boot, seed=seed).items():
            cells[f"{agg.benchmark}/{key}"] = cell
    return cells


def _task_label(task: str) -> str:
    suffix = task.split(":", 1)[-1]
    m = re.fullmatch(r"level-(\d+)", suffix)
    return f"L{m.group(1)}" if m else suffix


def columns_for(keys: set[str], reference_only: dict[str, str] | None = None) -> list[dict[str, str]]:
    """Ordered column descriptions: aggregates first, then categories, benchmark by benchmark."""
    cols: list[dict[str, str]] = []
    left = set(keys)

    def take(key: str, label: str, group: str, kind: str) -> None:
        if key in left:
            cols.append({"key": key, "label": label, "group": group, "kind": kind})
            left.discard(key)

    for agg in AGGREGATORS:
        rank = {f"{agg.benchmark}/{name}": i for i, name in enumerate(_AGG_ORDER)}
        aggs = sorted((k for k in left if k.startswith(agg.benchmark + "/")),
                      key=lambda k: (rank.get(k, len(rank)), k))
        for k in aggs:
            take(k, k.split("/", 1)[1], agg.title, "aggregate")
        tasks = [k for k in left if k.startswith(agg.task_prefix)]
        order = {f"{agg.task_prefix}{c}": i for i, c in enumerate(_BFCL_ORDER)}
        group = "BFCL categories" if agg.benchmark == "bfcl" else agg.title
        for k in sorted(tasks, key=lambda k: (order.get(k, len(order)), k)):
            take(k, _task_label(k), group, "task")
    for k in sorted(k for k in left if ":" in k):
        take(k, k, "Other tasks", "task")
    for k, label in (reference_only or {}).items():
        take(k, label, "BFCL V3 (reference only)", "reference")
    for k in sorted(left):
        take(k, k, "Other", "aggregate")
    return cols


def primary_key(rows: list[dict[str, Any]], columns: list[dict[str, str]]) -> str | None:
    """The headline column: the first benchmark overall that some row has complete, else present at all."""
    cells = [c for r in rows if not r.get("reference") for c in r["cells"].items()]
    measured = {k for k, _ in cells}
    complete = {k for k, c in cells if c.get("complete") is not False}
    for pool in (complete, measured):
        for k in PRIMARY_CANDIDATES:
            if k in pool:
                return k
    return next((c["key"] for c in columns if c["key"] in measured), None)


def sort_rows(rows: list[dict[str, Any]], key: str | None, mix_references: bool = False) -> list[dict[str, Any]]:
    """Best first by `key`; reference rows after all measured rows unless `mix_references`."""
    def score(r: dict[str, Any]) -> float:
        acc = (r["cells"].get(key) or {}).get("accuracy") if key else None
        return -acc if acc is not None else float("inf")

    def order(r: dict[str, Any]) -> tuple:
        ref = bool(r.get("reference")) and not mix_references
        return (ref, score(r), r.get("run_group") or "", r.get("step") or 0, r["label"])

    return sorted(rows, key=order)


def coverage(tasks: dict[str, dict[str, Any]]) -> tuple[int, int | None, str]:
    """(items scored, items the tasks hold or None if a summary predates `available`, display text).

    "312 of 4,238" marks a subset (a `--limit` or interrupted run); a full run reads "4,238".
    """
    items = sum(int(t.get("total") or 0) for t in tasks.values())
    sizes = [t.get("available") for t in tasks.values()]
    of = sum(int(a) for a in sizes) if sizes and all(isinstance(a, int) for a in sizes) else None
    text = f"{items:,} of {of:,}" if of is not None and items < of else f"{items:,}"
    return items, of, text


def measured_row(run: dict[str, Any], n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    summary = run.get("summary") or {}
    items, items_of, items_text = coverage(summary.get("tasks") or {})
    return {
        "id": run["id"], "label": run["label"], "model": run.get("model", ""), "reference": False,
        "run_group": run.get("run_group"), "step": run.get("step"), "source": run.get("source", ""),
        "format": summary.get("format"), "limit": summary.get("limit"),
        "items": items, "items_of": items_of, "coverage": items_text,
        "backend": (summary.get("backend") or {}).get("backend"), "finished_at": summary.get("finished_at"),
        "outcomes_from": sorted(set((run.get("outcome_origin") or {}).values())),
        "cells": run_cells(run, n_boot=n_boot, seed=seed),
    }


def make_board(runs: list[dict[str, Any]], name: str, references: list[dict[str, Any]] | None = None,
               reference_only_columns: dict[str, str] | None = None, n_boot: int = 1000, seed: int = 0,
               generated_at: str = "", sort: str | None = None) -> dict[str, Any]:
    """The board as plain data: columns, sorted rows (measured first), primary sort key, interval notes.

    `sort` names the column to rank by (a measured column key); by default the headline rule of `primary_key`.
    """
    rows = [measured_row(r, n_boot=n_boot, seed=seed) for r in runs]
    refs = [dict(r) for r in (references or [])]
    measured_keys = {k for r in rows for k in r["cells"]}
    allowed = set(measured_keys)
    if any(k.startswith(("bfcl:", "bfcl/")) for k in measured_keys):
        allowed |= set(reference_only_columns or {})
    ref_keys = {k for r in refs for k in r["cells"]} & allowed
    for r in refs:  # a reference figure is shown only next to a benchmark we measured
        r["cells"] = {k: v for k, v in r["cells"].items() if k in ref_keys}
    refs = [r for r in refs if r["cells"]]
    columns = columns_for(measured_keys | ref_keys, reference_only_columns if refs else None)
    key = primary_key(rows, columns)
    if sort is not None:
        if sort not in measured_keys:
            raise UserError(f"--sort {sort!r} is not a measured column of this board; "
                            f"choose one of: {', '.join(c['key'] for c in columns if c['key'] in measured_keys)}")
        key = sort
    notes = ["Accuracies are fractions of scored items; generation failures are excluded (see each run's "
             "summary.json `failed`).",
             "95% intervals: Wilson for a single category; percentile bootstrap over items (each category "
             f"resampled separately, {n_boot} resamples, seed {seed}) for weighted aggregates."]
    if any(c.get("complete") is False for r in rows for c in r["cells"].values()):
        notes.append("* incomplete aggregate: some member categories were not run. BFCL's count 0, as in BFCL's "
                     "overall (BFCL's own board would display N/A); API-Bank's overall is the micro-average of "
                     "the levels run. n counts only the items run.")
    if any(r["items_of"] is not None and r["items"] < r["items_of"] for r in rows):
        notes.append("Rows whose items read 'k of N' were measured on a subset of their tasks (the first items of "
                     "each, `--limit`, or an interrupted run): their figures estimate the full benchmark's, within "
                     "the intervals shown.")
    if refs:
        notes.append("Reference rows are figures reported by papers or public boards, not measured here; "
                     "protocols differ in places (see each row's source), so they are never ranked with measured rows.")
    return {"schema": BOARD_SCHEMA, "name": name, "generated_at": generated_at, "primary": key,
            "bootstrap": {"n_boot": n_boot, "seed": seed, "alpha": ALPHA}, "columns": columns,
            "rows": sort_rows(rows + refs, key), "notes": notes}
