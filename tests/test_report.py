"""The end-of-run table explains the incomplete-aggregate mark only where it appears."""

from __future__ import annotations

from harness.records import RunSummary
from harness.report import print_summary


def _summary(bfcl_complete: bool) -> dict:
    cell = {"accuracy": 0.5, "ci95": [0.4, 0.6], "total": 100, "method": "bootstrap"}
    return {
        "model": "m", "format": "auto", "backend": {"backend": "hf"},
        "tasks": {"bfcl:simple_python": {"correct": 50, "total": 100, "accuracy": 0.5, "ci95": [0.4, 0.6]}},
        "aggregates": {"bfcl": {"overall": {**cell, "complete": bfcl_complete}},
                       "apibank": {"overall": {**cell, "complete": True}}},
        "timings": {"wall_s": 1.0, "generate_s": 0.5, "harness_s": 0.1},
    }


def test_incomplete_bfcl_aggregate_is_marked_and_explained(capsys):
    print_summary(RunSummary.from_json(_summary(bfcl_complete=False)))
    out = " ".join(capsys.readouterr().out.split())
    assert "overall *" in out
    assert "bfcl aggregates (95% CI; * = incomplete: missing categories count 0, BFCL's board shows N/A)" in out
    assert "apibank aggregates (95% CI)" in out  # complete: no mark, no note, and never BFCL's wording


def test_complete_aggregates_carry_no_note(capsys):
    print_summary(RunSummary.from_json(_summary(bfcl_complete=True)))
    out = " ".join(capsys.readouterr().out.split())
    assert "incomplete" not in out and "overall *" not in out
    assert "bfcl aggregates (95% CI)" in out


def test_incomplete_apibank_overall_says_it_averages_the_levels_run(capsys):
    summary = _summary(bfcl_complete=True)
    summary["aggregates"]["apibank"]["overall"]["complete"] = False
    print_summary(RunSummary.from_json(summary))
    out = " ".join(capsys.readouterr().out.split())
    assert "apibank aggregates (95% CI; * = incomplete: the average of the levels run, not all three)" in out
    assert "BFCL's board" not in out
