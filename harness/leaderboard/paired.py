"""Paired differences on a board: each row against its baseline, item by item (pure).

Two rows' intervals overlapping says little when both runs scored the same
items: item difficulty cancels in the per-item difference, so a paired test
sees what two separate intervals hide. A row is compared with the board's
`--baseline` row, or, on a training board, with the first evaluation of its
own training run (a `base/eval` or the lowest step).

Per task the comparison is `harness.compare.paired_items.compare_records`
(the one `rest compare` uses): the difference on the common items, a paired
bootstrap interval, McNemar's exact p with one sample per item, the
sign-flip p with repeats. A benchmark aggregate is a weighted sum of its
categories' accuracies, hence of per-item outcomes on the common items; its
difference is that weighted sum of per-item differences. Where every common
item weighs the same (a micro-average, one category) it is the pooled
comparison scaled; otherwise the paired bootstrap and the sign-flip test run
on the weighted per-item differences (`harness.stats.paired`). A run whose
samples are gone or no longer match its counts cannot be paired: its cells
say "unpaired" rather than show a figure made up from counts.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from harness.aggregation import Aggregator, aggregators
from harness.compare.paired_items import compare_records, item_outcomes
from harness.records import RunSummary, SampleRecord
from harness.stats.paired import paired_bootstrap_ci, sign_flip_p
from harness.types import UserError

Records = dict[str, list[SampleRecord] | None]


def find_row(runs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The run `--baseline NAME` names: by id, else by label (which must then be unique)."""
    for key in ("id", "label"):
        hits = [r for r in runs if r[key] == name]
        if len(hits) == 1:
            return hits[0]
    raise UserError(f"--baseline {name!r} names no single row of this board; choose one of: "
                    + ", ".join(r["id"] for r in runs))


def baselines(runs: list[dict[str, Any]], baseline: str | None = None) -> dict[str, str]:
    """{run id: id of the run it is compared with}.

    With `baseline`, every other row against that row; without, each checkpoint row of a training
    run against that run's start (its `base/eval`, else its lowest step). Other rows: no comparison.
    """
    if baseline is not None:
        base = find_row(runs, baseline)
        return {r["id"]: base["id"] for r in runs if r is not base}
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        if r.get("run_group") is not None and r.get("step") is not None:
            groups.setdefault(r["run_group"], []).append(r)
    out = {}
    for rows in groups.values():
        start = min(rows, key=lambda r: (not r.get("base"), r["step"], r["id"]))
        out.update({r["id"]: start["id"] for r in rows if r is not start})
    return out


def _records(run: dict[str, Any], exclude_failed: bool) -> Records:
    """Per task of the run, its slim sample records, None where it has none that match its counts."""
    summary = run.get("summary")
    tasks = summary.tasks if isinstance(summary, RunSummary) else (summary or {}).get("tasks") or {}
    recs: Records = {t: None for t in tasks} | dict(run.get("records") or {})
    if exclude_failed:
        recs = {t: None if v is None else [r for r in v if not r.failed] for t, v in recs.items()}
    return recs


def _entry(vs: str, delta: float, ci: tuple[float, float] | list[float], p: float, test: str, n: int,
           base_only: int | None = None, row_only: int | None = None) -> dict[str, Any]:
    return {"vs": vs, "delta": delta, "ci95": [ci[0], ci[1]], "p": p, "test": test, "n_items": n,
            "base_only": base_only, "row_only": row_only}


def _unpaired(vs: str, why: str) -> dict[str, Any]:
    return {"vs": vs, "unpaired": why}


def _value(agg: Aggregator, counts: dict[str, tuple[float, int]], key: str) -> float | None:
    got = agg.compute(counts).get(key)
    return None if got is None else got["value"]


def task_pair(base: dict[str, Any], a: list[SampleRecord] | None, b: list[SampleRecord] | None, task: str,
              n_boot: int, seed: int) -> dict[str, Any]:
    """Row b against baseline a on one task's common items."""
    if a is None or b is None:
        return _unpaired(base["id"], "no per-item samples" + ("" if b is None else " in the baseline"))
    res = compare_records(task, a, b, n_boot=n_boot, seed=seed)
    if not res.n_items:
        return _unpaired(base["id"], "no common items")
    assert res.delta is not None and res.ci95 is not None and res.p is not None
    return _entry(base["id"], res.delta, res.ci95, res.p, res.test, res.n_items, res.a_only, res.b_only)


def aggregate_pair(base: dict[str, Any], agg: Aggregator, name: str, ra: Records, rb: Records,
                   n_boot: int, seed: int) -> dict[str, Any] | None:
    """Row b against baseline a on aggregate `name` of benchmark `agg`, over the common items of both."""
    tasks = [t for t in rb if t.startswith(agg.task_prefix) and t in ra]
    if any(ra[t] is None or rb[t] is None for t in tasks):
        missing = any(rb[t] is None for t in tasks)
        return _unpaired(base["id"], "no per-item samples" + ("" if missing else " in the baseline"))
    means: dict[str, tuple[list[float], list[float]]] = {}
    for t in tasks:
        oa, ob = item_outcomes(ra[t] or []), item_outcomes(rb[t] or [])
        common = [i for i in oa if i in ob]
        if common:
            means[t] = ([sum(oa[i]) / len(oa[i]) for i in common], [sum(ob[i]) / len(ob[i]) for i in common])
    cat = {t: t.split(":", 1)[1] for t in means}
    zero: dict[str, tuple[float, int]] = {cat[t]: (0, len(m[0])) for t, m in means.items()}
    weights = {}
    for t, (ma, _) in means.items():
        hi, lo = _value(agg, {**zero, cat[t]: (len(ma), len(ma))}, name), _value(agg, zero, name)
        if hi is not None and lo is not None and hi != lo:
            weights[t] = (hi - lo) / len(ma)  # what one right item adds
    if not weights:
        return _unpaired(base["id"], "no common items")
    v_a = _value(agg, {cat[t]: (sum(m[0]), len(m[0])) for t, m in means.items()}, name)
    v_b = _value(agg, {cat[t]: (sum(m[1]), len(m[1])) for t, m in means.items()}, name)
    d = [(t, weights[t], y - x) for t in weights for x, y in zip(*means[t], strict=True)]
    if v_a is None or v_b is None or abs((v_b - v_a) - sum(w * x for _, w, x in d)) > 1e-9:
        return _unpaired(base["id"], "the aggregate is not a weighted sum of item outcomes")
    n, total_weight = len(d), sum(w for _, w, _ in d)
    if all(abs(w - total_weight / n) <= 1e-12 * abs(total_weight) for _, w, _ in d):
        def pooled(recs: Records) -> list[SampleRecord]:
            return [dataclasses.replace(r, id=f"{t}/{r.id}") for t in weights for r in recs[t] or []]

        res = compare_records(name, pooled(ra), pooled(rb), n_boot=n_boot, seed=seed)
        assert res.delta is not None and res.ci95 is not None and res.p is not None
        return _entry(base["id"], total_weight * res.delta, (total_weight * res.ci95[0], total_weight * res.ci95[1]),
                      res.p, res.test, n, res.a_only, res.b_only)
    scaled = [n * w * x for _, w, x in d]  # mean(scaled) is the aggregate's difference
    return _entry(base["id"], sum(scaled) / n, paired_bootstrap_ci(scaled, n_boot=n_boot, seed=seed),
                  sign_flip_p(scaled, n_perm=max(n_boot, 1000), seed=seed), "sign-flip (weighted)", n)


def paired_cells(run: dict[str, Any], base: dict[str, Any], keys: list[str], exclude_failed: bool = False,
                 n_boot: int = 1000, seed: int = 0) -> dict[str, dict[str, Any]]:
    """{cell key: paired entry} for the cells `keys` (tasks and aggregates both rows show)."""
    ra, rb = _records(base, exclude_failed), _records(run, exclude_failed)
    by_bench = {a.benchmark: a for a in aggregators()}
    out: dict[str, dict[str, Any]] = {}
    for key in keys:
        if key in rb:
            if key in ra:
                out[key] = task_pair(base, ra[key], rb[key], key, n_boot, seed)
            continue
        bench, _, name = key.partition("/")
        if bench in by_bench:
            got = aggregate_pair(base, by_bench[bench], name, ra, rb, n_boot, seed)
            if got is not None:
                out[key] = got
    return out
