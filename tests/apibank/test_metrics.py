"""API-Bank's metrics: the micro-averaged overall and its completeness mark."""

from __future__ import annotations

import pytest

from harness.aggregation import aggregate_cells
from harness.apibank.metrics import apibank_scores


def test_apibank_overall_is_incomplete_unless_all_three_levels_ran():
    one = aggregate_cells({"level-1": [1, 0, 0, 0]}, apibank_scores, n_boot=50)["overall"]
    assert one["complete"] is False and one["accuracy"] == pytest.approx(0.25)  # value: micro over what ran
    all3 = aggregate_cells({"level-1": [1, 0], "level-2": [1, 1], "level-3": [0, 0]}, apibank_scores, n_boot=50)
    assert all3["overall"]["complete"] is True and all3["overall"]["accuracy"] == pytest.approx(0.5)


