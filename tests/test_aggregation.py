"""Benchmark aggregation: bootstrap/Wilson cells, the aggregator registry, and run summaries built on them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.aggregation import aggregate_cells, aggregators, benchmark_cells
from harness.apibank.metrics import micro_scores
from harness.bfcl.metrics import bfcl_scores
from harness.records import SampleRecord, TaskResult
from harness.stats.intervals import wilson
from harness.summary import benchmark_aggregates, outcomes_of, task_summary


def test_bootstrap_interval_narrows_with_more_items():
    compute = micro_scores
    small = aggregate_cells({"a": [1, 0] * 10, "b": [1, 0, 0] * 10}, compute, n_boot=300)["overall"]
    big = aggregate_cells({"a": [1, 0] * 200, "b": [1, 0, 0] * 200}, compute, n_boot=300)["overall"]
    assert small["accuracy"] == pytest.approx(big["accuracy"])
    assert (big["ci95"][1] - big["ci95"][0]) < 0.5 * (small["ci95"][1] - small["ci95"][0])


def test_single_feeder_aggregate_falls_back_to_wilson():
    cell = aggregate_cells({"level-1": [1, 1, 0, 0, 0]}, micro_scores, n_boot=50)["overall"]
    assert cell["method"] == "wilson" and cell["ci95"] == pytest.approx(list(wilson(2, 5)))


def test_degenerate_bootstrap_falls_back_to_wilson():
    cell = aggregate_cells({"a": [0] * 3, "b": [0] * 4}, micro_scores, n_boot=50)["overall"]
    assert cell["method"] == "wilson-fallback" and cell["ci95"] == pytest.approx(list(wilson(0, 7)))
    assert cell["ci95"][1] > 0.3  # 0 of 7 is far from proof of 0%


def test_benchmarks_register_their_aggregators_in_listing_order():
    listed = [(a.benchmark, a.task_prefix) for a in aggregators()]
    assert listed == [("bfcl", "bfcl:"), ("apibank", "apibank:"), ("apibank-original", "apibank-original:")]
    assert aggregators()[0].compute is bfcl_scores


def test_bfcl_scores_lists_the_overall_then_the_v4_subscores():
    scores = bfcl_scores({"simple_python": (3, 4), "nonsense": (1, 1)})  # categories BFCL does not ship are ignored
    assert list(scores) == ["overall", "simple", "non_live", "live", "hallucination", "relevance", "multi_turn",
                            "web_search", "memory", "agentic"]
    assert scores["simple"] == {"value": pytest.approx(0.25), "complete": False}


def _records(outcomes: list[int], failed: int = 0) -> list[dict]:
    recs = [{"id": f"i{i}", "valid": bool(o), "error_type": None if o else "wrong", "prompt_tokens": 2,
             "completion_tokens": None} for i, o in enumerate(outcomes)]
    return recs + [{"id": f"f{i}", "valid": False, "backend_error": "boom", "prompt_tokens": 1} for i in range(failed)]


def test_task_summary_reads_dicts_and_records_alike_and_returns_a_task_result():
    dicts = _records([1, 1, 0], failed=1)
    typed = [SampleRecord.from_json(r) for r in dicts]
    for recs in (dicts, typed, dicts[:2] + typed[2:]):
        result = task_summary(recs)
        assert isinstance(result, TaskResult)
        assert (result.correct, result.total, result.failed) == (2, 3, 1)
        assert result.accuracy == pytest.approx(2 / 4) and result.ci95 == pytest.approx(list(wilson(2, 4)))
        assert result.accuracy_excl_failed == pytest.approx(2 / 3)
        assert result.error_types == {"wrong": 1, "generation_failed": 1}
        assert (result.prompt_tokens, result.completion_tokens) == (7, 0)
        assert outcomes_of(recs) == [1, 1, 0, 0]  # a failed generation counts 0, as in the headline


def test_benchmark_aggregates_are_the_registered_cells_of_measured_tasks():
    outcomes = {"apibank:level-1": [1, 0, 1, 1], "apibank:level-2": [0, 1], "bfcl:simple_python": [1, 0],
                "bfcl:multiple": []}
    per_task = {t: task_summary(_records(o)) for t, o in outcomes.items()}
    got = benchmark_aggregates(per_task, outcomes, n_boot=50)
    assert list(got) == ["bfcl", "apibank"]
    assert got == benchmark_cells([t for t in outcomes if outcomes[t]], outcomes, n_boot=50)
    assert got["apibank"]["overall"]["total"] == 6 and got["apibank"]["overall"]["complete"] is False
    assert benchmark_aggregates(per_task) == {}  # without outcomes nothing is resampled


def test_writing_a_summary_never_imports_the_leaderboard():
    code = ("import sys; from harness.summary import benchmark_aggregates, task_summary; "
            "r = task_summary([{'id': 'a', 'valid': True}]); "
            "benchmark_aggregates({'bfcl:simple_python': r}, {'bfcl:simple_python': [1]}, n_boot=10); "
            "print(sorted(m for m in sys.modules if m.startswith('harness.leaderboard')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
