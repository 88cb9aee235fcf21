"""Paired statistics: the sign-flip test, McNemar, the item bootstrap, and seed handling."""

from __future__ import annotations

import pytest

from harness.stats.paired import compare, diffs, item_means, mcnemar_exact, paired_bootstrap_ci, sign_flip_p


def test_mcnemar_known_values():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)  # all 6 discordant pairs one way
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(1, 9) == pytest.approx(2 * 11 / 1024)


@pytest.mark.parametrize("b, c", [(0, 6), (1, 9), (4, 7), (2, 2), (0, 1)])
def test_sign_flip_on_one_seed_of_verdicts_is_exact_mcnemar(b, c):
    a = [1] * b + [0] * c + [1, 0, 1]  # b items right only in a, c only in the other, 3 concordant
    o = [0] * b + [1] * c + [1, 0, 1]
    assert sign_flip_p(diffs([a], [o])) == pytest.approx(mcnemar_exact(b, c))


def test_seeds_of_one_item_move_together():
    a = [[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 0]]  # 3 seeds x 4 items
    assert item_means(a) == pytest.approx([1.0, 2 / 3, 1 / 3, 0.0])
    c = compare("rest", a, "start", [[0, 0, 0, 0]], "accuracy")
    assert c.delta == pytest.approx(0.5) and (c.seeds_a, c.seeds_b, c.n_items) == (3, 1, 4)
    assert c.p == pytest.approx(2 / 8)  # 3 items differ, all the same sign: 2 of 8 sign patterns as extreme
    with pytest.raises(ValueError, match="same items"):
        diffs(a, [[0, 0, 0]])


def test_monte_carlo_branch_and_no_difference():
    d = [0.5] * 30 + [-0.1] * 5
    assert sign_flip_p(d) < 0.001
    assert sign_flip_p([0.0] * 10) == 1.0
    big = [1.0, -1.0] * 15
    assert sign_flip_p(big) == pytest.approx(1.0, abs=0.01)


def test_bootstrap_interval_covers_the_mean_and_is_degenerate_for_constants():
    lo, hi = paired_bootstrap_ci([0.2] * 20)
    assert lo == hi == pytest.approx(0.2)
    lo, hi = paired_bootstrap_ci([1, 0, 0, 1, 1, 0, 1, 1, 0, 1] * 4)
    assert lo < 0.6 < hi
