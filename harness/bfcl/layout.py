"""BFCL's own output layout: the `score/` files and `data_*.csv` tables that `bfcl evaluate` writes.

Scripts written against `bfcl evaluate` output (score-file headers, the CSVs' column names, "12.34%"
cells, "N/A" for a category that was not run, rank order) read these unchanged. Everything here is
pure: per-category counts in, BFCL's rows and file text out; `harness.bfcl.layout_write` puts them
on disk. The figures come from `harness.bfcl.metrics` (the V4 formulas the run summary uses), so
the tables and the summary agree by construction; column names and cell rules follow
bfcl_eval/eval_checker/eval_runner_helper.py of bfcl-eval 2026.3.23.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.bfcl.categories import MULTI_TURN
from harness.bfcl.metrics import bfcl_summary
from harness.bfcl.scorefile import entry_index

NA = "N/A"
# BFCL's price rule for models it serves itself: 8xH100 at $23.92/h, shared by 100 concurrent requests.
H100_X8_PRICE_PER_HOUR = 23.92
LOCAL_CONCURRENCY = 100

COLUMNS_NON_LIVE = ["Rank", "Model", "Non-Live Overall Acc", "AST Summary", "Simple AST", "Python Simple AST",
                    "Java Simple AST", "JavaScript Simple AST", "Multiple AST", "Parallel AST",
                    "Parallel Multiple AST", "Irrelevance Detection"]
COLUMNS_LIVE = ["Rank", "Model", "Live Overall Acc", "AST Summary", "Python Simple AST", "Python Multiple AST",
                "Python Parallel AST", "Python Parallel Multiple AST", "Irrelevance Detection",
                "Relevance Detection"]
COLUMNS_MULTI_TURN = ["Rank", "Model", "Multi Turn Overall Acc", "Base", "Miss Func", "Miss Param", "Long Context"]
COLUMNS_AGENTIC = ["Rank", "Model", "Agentic Overall Acc", "Web Search Summary", "Web Search Base",
                   "Web Search No Snippet", "Memory Summary", "Memory KV", "Memory Vector",
                   "Memory Recursive Summarization"]
COLUMNS_OVERALL = [
    "Rank", "Overall Acc", "Model", "Model Link", "Total Cost ($)", "Latency Mean (s)",
    "Latency Standard Deviation (s)", "Latency 95th Percentile (s)", "Non-Live AST Acc", "Non-Live Simple AST",
    "Non-Live Multiple AST", "Non-Live Parallel AST", "Non-Live Parallel Multiple AST", "Live Acc",
    "Live Simple AST", "Live Multiple AST", "Live Parallel AST", "Live Parallel Multiple AST", "Multi Turn Acc",
    "Multi Turn Base", "Multi Turn Miss Func", "Multi Turn Miss Param", "Multi Turn Long Context",
    "Web Search Acc", "Web Search Base", "Web Search No Snippet", "Memory Acc", "Memory KV", "Memory Vector",
    "Memory Recursive Summarization", "Relevance Detection", "Irrelevance Detection",
    "Format Sensitivity Max Delta", "Format Sensitivity Standard Deviation", "Organization", "License",
]

# file -> (header, index of the column rows are ranked by, columns written as plain numbers, not percentages)
TABLES: dict[str, tuple[list[str], int, tuple[int, ...]]] = {
    "data_non_live.csv": (COLUMNS_NON_LIVE, 2, ()),
    "data_live.csv": (COLUMNS_LIVE, 2, ()),
    "data_multi_turn.csv": (COLUMNS_MULTI_TURN, 2, ()),
    "data_agentic.csv": (COLUMNS_AGENTIC, 2, ()),
    "data_overall.csv": (COLUMNS_OVERALL, 1, (4, 5, 6, 7, 32, 33)),
}


@dataclass
class ModelScores:
    """One model's row source: its per-category (correct, total), the name shown, and its latencies.

    `latencies` are the per-entry seconds of the result files scored in this call (BFCL reads them
    only for the models it evaluates in a run); empty gives N/A cost and latency cells.
    """

    name: str
    counts: dict[str, tuple[int, int]]
    latencies: list[float] = field(default_factory=list)
    link: str = NA
    organization: str = NA
    license: str = NA


def score_header(correct: int, total: int) -> dict[str, Any]:
    """The first line of a `BFCL_v4_<cat>_score.json` file."""
    return {"accuracy": correct / total if total else 0.0, "correct_count": correct, "total_count": total}


def failure_entry(row: dict[str, Any], model_dir: str) -> dict[str, Any]:
    """A failed entry as BFCL lists it after the header (its keys per category kind; no prompt or answer copy)."""
    category = row["category"]
    errors = list(row.get("errors") or [])
    base = {"id": row["id"], "model_name": model_dir, "test_category": category, "valid": False}
    if category in MULTI_TURN:
        return {**base, "error": {"error_message": errors, "error_type": row.get("error_type")},
                "model_result_raw": row.get("result"), "model_result_decoded": row.get("decoded")}
    if "relevance" in category:  # irrelevance, live_irrelevance, live_relevance
        return {**base, "model_result": row.get("result"), "decoded_result": row.get("decoded"),
                "error": errors, "error_type": row.get("error_type")}
    return {**base, "error": errors, "error_type": row.get("error_type"), "model_result_raw": row.get("result"),
            "model_result_decoded": row.get("decoded")}


def score_files(rows: Iterable[dict[str, Any]], model_dir: str) -> dict[str, list[dict[str, Any]]]:
    """category -> lines of its score file: the header, then the failed entries in BFCL's id order."""
    by_category: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_category.setdefault(row["category"], []).append(row)
    out = {}
    for category, cat_rows in by_category.items():
        cat_rows = sorted(cat_rows, key=lambda r: entry_index(r["id"]))
        correct = sum(1 for r in cat_rows if r["valid"])
        out[category] = [score_header(correct, len(cat_rows)),
                         *(failure_entry(r, model_dir) for r in cat_rows if not r["valid"])]
    return out


def latency_cells(latencies: Iterable[Any]) -> tuple[Any, Any, Any, Any]:
    """(cost, mean, std, p95) as BFCL computes them for a self-served model: zero and non-numbers dropped.

    BFCL fails on a single latency (its standard deviation needs two); the cell is N/A here instead.
    """
    data = [x for x in latencies if isinstance(x, int | float) and not isinstance(x, bool) and x != 0]
    if not data:
        return NA, NA, NA, NA
    cost = round(sum(data) / 3600 * H100_X8_PRICE_PER_HOUR / LOCAL_CONCURRENCY, 2)
    std = round(statistics.stdev(data), 2) if len(data) > 1 else NA
    import numpy as np  # BFCL's percentile, so a value on a rounding edge rounds the same way

    return cost, round(statistics.mean(data), 2), std, round(float(np.percentile(data, 95)), 2)


def table_rows(model: ModelScores) -> dict[str, list[Any]]:
    """One model's unformatted row for each CSV (rank still "N/A"; numbers are fractions)."""
    counts = model.counts
    s = bfcl_summary(counts)
    sub = s["subscores"]

    def cat(name: str) -> Any:  # BFCL's per-category cell: N/A when the category was not run
        if name not in counts:
            return NA
        correct, total = counts[name]
        return correct / total if total else 0.0

    def shown(agg: dict[str, Any]) -> Any:  # BFCL's display_accuracy: N/A when a member was not run
        return agg["value"] if agg["complete"] else NA

    def cats(*names: str) -> list[Any]:
        return [cat(n) for n in names]

    mt = cats(*MULTI_TURN)
    ws = cats("web_search_base", "web_search_no_snippet")
    mem = cats("memory_kv", "memory_vector", "memory_rec_sum")
    live = cats("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")
    non_live = cats("multiple", "parallel", "parallel_multiple")
    cost, mean, std, p95 = latency_cells(model.latencies)
    return {
        "data_non_live.csv": [NA, model.name, sub["non_live"]["value"], shown(sub["non_live"]), shown(sub["simple"]),
                              *cats("simple_python", "simple_java", "simple_javascript"), *non_live,
                              cat("irrelevance")],
        "data_live.csv": [NA, model.name, sub["live"]["value"], shown(sub["live"]), *live,
                          *cats("live_irrelevance", "live_relevance")],
        "data_multi_turn.csv": [NA, model.name, sub["multi_turn"]["value"], *mt],
        "data_agentic.csv": [NA, model.name, sub["agentic"]["value"], shown(sub["web_search"]), *ws,
                             shown(sub["memory"]), *mem],
        "data_overall.csv": [NA, s["overall"]["value"], model.name, model.link, cost, mean, std, p95,
                             shown(sub["non_live"]), shown(sub["simple"]), *non_live, sub["live"]["value"], *live,
                             sub["multi_turn"]["value"], *mt, shown(sub["web_search"]), *ws, shown(sub["memory"]),
                             *mem, cat("live_relevance"), shown(sub["hallucination"]), NA, NA, model.organization,
                             model.license],
    }


def tables(models: Iterable[ModelScores]) -> dict[str, list[list[str]]]:
    """file name -> its rows, header first: ranked best first (N/A last, ties in input order), cells formatted."""
    rows: dict[str, list[list[Any]]] = {name: [] for name in TABLES}
    for model in models:
        for name, row in table_rows(model).items():
            rows[name].append(row)
    out = {}
    for name, (header, sort_col, plain) in TABLES.items():
        ranked = sorted(rows[name], key=lambda r, c=sort_col: r[c] if r[c] != NA else -1, reverse=True)
        out[name] = [list(header)] + [_format(i, row, plain) for i, row in enumerate(ranked, 1)]
    return out


def _format(rank: int, row: list[Any], plain: tuple[int, ...]) -> list[str]:
    cells = [str(rank)]
    for j, value in enumerate(row[1:], 1):
        if isinstance(value, str):
            cells.append(value)
        elif j in plain:
            cells.append(str(value))
        else:
            cells.append(f"{value * 100:.2f}%")
    return cells


def render_csv(rows: list[list[str]]) -> str:
    """BFCL's CSV text: cells joined by commas, lines by "\\n", no final newline.

    BFCL quotes nothing; a cell holding a comma, quote or newline (only a model name can) is quoted
    the csv module's way, so readers still split it right.
    """
    return "\n".join(",".join(_quote(c) for c in row) for row in rows)


def _quote(cell: str) -> str:
    if any(ch in cell for ch in ',"\n\r'):
        return '"' + cell.replace('"', '""') + '"'
    return cell
