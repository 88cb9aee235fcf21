"""Runs -> leaderboard (pure): one row per run, every accuracy with its n and a 95% interval.

Layout only: cells come from `harness.aggregation` (a Wilson interval per
task, each benchmark's registered aggregates with bootstrap intervals), and
each benchmark's aggregator says how its columns are titled and ordered, so
no benchmark formula lives here.
"""

from __future__ import annotations

import re
from typing import Any

from harness.aggregation import ALPHA, aggregators, benchmark_cells, wilson_cell
from harness.leaderboard.paired import baselines, find_row, paired_cells
from harness.leaderboard.taxonomy import CATEGORIES, run_taxonomy
from harness.records import RunSummary, TaskResult
from harness.types import UserError

BOARD_SCHEMA = "rest-harness/leaderboard/v1"
PAIRED_NOTE = ("Δ: paired difference, row minus its baseline (`vs`), in points, on the items both runs scored "
               "(matched by id), with its 95% paired bootstrap interval and p: McNemar's exact test with one "
               "sample per item, the sign-flip test with repeats or for weighted aggregates. 'unpaired': a run "
               "without per-item samples (or with samples that no longer match its counts); no figure is made up.")
TAXONOMY_NOTE = ("Failure taxonomy: share of each benchmark's wrong answers by cause, from the checkers' "
                 "error types (harness/leaderboard/taxonomy.py).")


def _summary(run: dict[str, Any]) -> RunSummary:
    summary = run.get("summary")
    if isinstance(summary, RunSummary):
        return summary
    return RunSummary.from_json(summary or {})


def run_cells(run: dict[str, Any], n_boot: int = 1000, seed: int = 0,
              exclude_failed: bool = False) -> dict[str, dict[str, Any]]:
    """All cells of one measured run: a Wilson cell per task, bootstrap cells per benchmark aggregate.

    A failed generation counts as a wrong item (the headline rule of summary.json), or, with
    `exclude_failed`, leaves the denominator (the other figure); each task cell says how many failed.
    """
    cells = {}
    for t, s in _summary(run).tasks.items():
        correct, total, failed = int(s.correct or 0), int(s.total or 0), int(s.failed or 0)
        n = total if exclude_failed else total + failed
        if n:
            cells[t] = {**wilson_cell(correct, n), "failed": failed}
    outcomes = run.get("outcomes_excl_failed" if exclude_failed else "outcomes") or {}
    by_benchmark = benchmark_cells(list(cells), outcomes, n_boot=n_boot, seed=seed)
    for benchmark, agg_cells in by_benchmark.items():
        for key, cell in agg_cells.items():
            cells[f"{benchmark}/{key}"] = cell
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

    for agg in aggregators():
        rank = {f"{agg.benchmark}/{name}": i for i, name in enumerate(agg.aggregate_order)}
        aggs = sorted((k for k in left if k.startswith(agg.benchmark + "/")),
                      key=lambda k: (rank.get(k, len(rank)), k))
        for k in aggs:
            take(k, k.split("/", 1)[1], agg.title, "aggregate")
        tasks = [k for k in left if k.startswith(agg.task_prefix)]
        order = {f"{agg.task_prefix}{c}": i for i, c in enumerate(agg.task_order)}
        for k in sorted(tasks, key=lambda k: (order.get(k, len(order)), k)):
            take(k, _task_label(k), agg.task_title or agg.title, "task")
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
    candidates = [f"{agg.benchmark}/overall" for agg in aggregators()]
    for pool in (complete, measured):
        for k in candidates:
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


def _known_size(task: TaskResult) -> bool:
    """Whether the summary says how many items the task holds (one predating `available` reads 0 for it)."""
    size = task.available
    return isinstance(size, int) and not (size == 0 and task.total)


def _held(task: TaskResult) -> int:
    """Items the task holds a sample for (`TaskResult.held`, tolerant of counts a summary left null)."""
    repeats = task.repeats if isinstance(task.repeats, int) and task.repeats > 0 else 1
    return (int(task.total or 0) + int(task.failed or 0)) // repeats


def coverage(tasks: dict[str, TaskResult]) -> tuple[int, int | None, str]:
    """(items scored, items the tasks hold or None if a summary predates `available`, display text).

    "312 of 4,238" marks a subset (a `--limit` or interrupted run); a full run reads "4,238". An item
    counts once however many samples it has, and whether its generation failed or not.
    """
    items = sum(_held(t) for t in tasks.values())
    known = bool(tasks) and all(_known_size(t) for t in tasks.values())
    of = sum(int(t.available) for t in tasks.values()) if known else None
    text = f"{items:,} of {of:,}" if of is not None and items < of else f"{items:,}"
    return items, of, text


def measured_row(run: dict[str, Any], n_boot: int = 1000, seed: int = 0, exclude_failed: bool = False) -> dict[str, Any]:
    """One measured run as a board row: what ran, how much of its tasks, how many failed, its cells, its errors."""
    summary = _summary(run)
    items, items_of, items_text = coverage(summary.tasks)
    return {
        "id": run["id"], "label": run["label"], "model": run.get("model", ""), "reference": False,
        "run_group": run.get("run_group"), "step": run.get("step"), "source": run.get("source", ""),
        "format": summary.format, "limit": summary.limit,
        "items": items, "items_of": items_of, "coverage": items_text,
        "backend": (summary.backend or {}).get("backend"), "finished_at": summary.finished_at or None,
        "outcomes_from": sorted(set((run.get("outcome_origin") or {}).values())),
        "failed": sum(int(t.failed or 0) for t in summary.tasks.values()),
        "baseline": False, "vs": None,
        "cells": run_cells(run, n_boot=n_boot, seed=seed, exclude_failed=exclude_failed),
        "taxonomy": run_taxonomy(summary.tasks, exclude_failed=exclude_failed),
    }


def add_paired(rows: list[dict[str, Any]], runs: list[dict[str, Any]], baseline: str | None,
               exclude_failed: bool, n_boot: int, seed: int) -> None:
    """Mark baseline rows and give every compared row's cells their paired difference (`cell["paired"]`)."""
    plan = baselines(runs, baseline)
    by_id = {r["id"]: r for r in runs}
    row_of = {r["id"]: r for r in rows}
    for run_id, base_id in plan.items():
        row, base = row_of[run_id], row_of[base_id]
        base["baseline"] = True
        row["vs"] = base["label"]
        keys = [k for k in row["cells"] if k in base["cells"]]
        found = paired_cells(by_id[run_id], by_id[base_id], keys, exclude_failed=exclude_failed,
                             n_boot=n_boot, seed=seed)
        for key, entry in found.items():
            row["cells"][key]["paired"] = entry


def make_board(runs: list[dict[str, Any]], name: str, references: list[dict[str, Any]] | None = None,
               reference_only_columns: dict[str, str] | None = None, n_boot: int = 1000, seed: int = 0,
               generated_at: str = "", sort: str | None = None, baseline: str | None = None,
               exclude_failed: bool = False) -> dict[str, Any]:
    """The board as plain data: columns, sorted rows (measured first), primary sort key, interval notes.

    `sort` names the column to rank by (a measured column key); by default the headline rule of `primary_key`.
    `baseline` names the row (id or label) every other row is compared with item by item; without it,
    checkpoint rows are compared with their training run's start. `exclude_failed` builds the figure
    without failed generations instead of the headline (failed = wrong).
    """
    rows = [measured_row(r, n_boot=n_boot, seed=seed, exclude_failed=exclude_failed) for r in runs]
    add_paired(rows, runs, baseline, exclude_failed, n_boot, seed)
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
    failed_note = ("FAILED GENERATIONS EXCLUDED (--exclude-failed): accuracies are fractions of the items a "
                   "model answered; the headline figure counts failed generations as wrong." if exclude_failed else
                   "Accuracies count a failed generation (backend error, timeout) as wrong, as BFCL's evaluator "
                   "does; `failed` says how many; `--exclude-failed` builds the other figure.")
    notes = [failed_note,
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
    if any(r["baseline"] for r in rows):
        notes.append(PAIRED_NOTE)
    if any(r["taxonomy"] for r in rows):
        notes.append(TAXONOMY_NOTE)
    if refs:
        notes.append("Reference rows are figures reported by papers or public boards, not measured here; "
                     "protocols differ in places (see each row's source), so they are never ranked with measured rows.")
    return {"schema": BOARD_SCHEMA, "name": name, "generated_at": generated_at, "primary": key,
            "exclude_failed": exclude_failed, "baseline": find_row(runs, baseline)["id"] if baseline is not None else None,
            "taxonomy_categories": [list(c) for c in CATEGORIES],
            "bootstrap": {"n_boot": n_boot, "seed": seed, "alpha": ALPHA}, "columns": columns,
            "rows": sort_rows(rows + refs, key), "notes": notes}
