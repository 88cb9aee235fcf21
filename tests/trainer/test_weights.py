"""Region weight schedules, per-sequence normalisation and entropy smoothing."""

from __future__ import annotations

import math

import pytest

from harness.types import UserError
from trainer.regions import Region
from trainer.weights import (
    EntropyTracker,
    WeightConfig,
    entropy_base_weights,
    region_stats,
    region_weights,
    token_weights,
)

F, N, A, T, R, OT = Region.FORMAT, Region.NAME, Region.ARGS, Region.THINK, Region.RESPONSE, Region.OTHER
SEQ = [OT, F, T, T, T, F, OT, F, OT, N, N, OT, A, A, A, OT, F, OT]


def test_uniform_is_plain_grpo():
    cfg = WeightConfig()
    w = region_weights(cfg, 0.7, 50)
    assert set(w.values()) == {1.0} and set(w) == {int(r) for r in Region}
    mask = [1] * (len(SEQ) - 3) + [0, 0, 0]
    assert token_weights(SEQ, w, cfg, mask=mask) == [1.0] * (len(SEQ) - 3) + [0.0] * 3  # exactly


def test_code_mode_official_constants_and_step_schedule():
    cfg = WeightConfig(mode="code")
    w1 = region_weights(cfg, 0.0, 1)
    assert w1 == pytest.approx({F: 1.0, N: 1.2, A: 0.602, T: 0.602, R: 0.0, OT: 0.0})
    w105 = region_weights(cfg, 1.0, 105)  # the shipped run length: args/think only reach 0.81
    assert w105[A] == pytest.approx(0.81) and w105[T] == pytest.approx(0.81)
    w_end = region_weights(cfg, 1.0, 10_000)
    assert w_end[A] == pytest.approx(1.2) and w_end[T] == pytest.approx(1.0)  # the caps
    assert w_end[F] == 1.0 and w_end[N] == 1.2
    kept = WeightConfig(mode="code", zero_other=False, other=0.3, response=0.5)
    wk = region_weights(kept, 0.0, 0)
    assert wk[OT] == 0.3 and wk[R] == 0.5


def test_progress_schedule_endpoints_and_monotonicity():
    cfg = WeightConfig(mode="code", schedule="progress", alpha_format=0.5, alpha_args=0.3, alpha_think=0.9, w_min=0.7)
    w0 = region_weights(cfg, 0.0, 999)  # the step is ignored by this schedule
    assert w0 == pytest.approx({F: 1.0, N: 1.2, A: 0.6, T: 0.6, R: 0.0, OT: 0.0})
    w1 = region_weights(cfg, 1.0, 0)
    assert w1[F] == pytest.approx(0.7)  # max(w_min, 1.0 - 0.5)
    assert w1[A] == pytest.approx(0.9)  # min(w_max=1.2, 0.6 + 0.3)
    assert w1[T] == pytest.approx(1.0)  # min(think cap 1.0, 0.6 + 0.9)
    assert w1[N] == 1.2
    grid = [region_weights(cfg, k / 20, 0) for k in range(21)]
    for a, b in zip(grid, grid[1:], strict=False):
        assert b[F] <= a[F] and b[A] >= a[A] and b[T] >= a[T] and b[N] == a[N]
    assert region_weights(cfg, 5.0, 0) == region_weights(cfg, 1.0, 0)  # progress is clipped to [0, 1]


def test_token_weights_clamp_then_mean_one():
    cfg = WeightConfig(mode="code")
    w = region_weights(cfg, 0.0, 50)
    tw = token_weights(SEQ, w, cfg)
    pos = [x for x in tw if x > 0]
    assert len(pos) == sum(1 for r in SEQ if w[r] > 0)
    assert sum(pos) / len(pos) == pytest.approx(1.0, abs=1e-6)
    assert all(x == 0.0 for x, r in zip(tw, SEQ, strict=True) if r in (OT, R))
    # ratios between regions survive the normalisation
    assert tw[SEQ.index(N)] / tw[SEQ.index(F)] == pytest.approx(1.2)
    # clamp happens before normalising: 100 -> 8 and 1e-6 -> 1e-3
    big = token_weights([N, F], {N: 100.0, F: 1.0}, cfg)
    assert big[0] / big[1] == pytest.approx(8.0)
    tiny = token_weights([N, F], {N: 1e-6, F: 1.0}, cfg)
    assert tiny[0] / tiny[1] == pytest.approx(1e-3)
    assert token_weights([OT, OT], w, cfg) == [0.0, 0.0]  # nothing weighted: no division by zero
    assert token_weights([], w, cfg) == []


def test_entropy_mode_orders_by_inverse_entropy():
    ent = {F: 0.1, N: 0.2, A: 0.5, T: 1.5}
    for transform in ("inv", "inv_1mexp"):
        cfg = WeightConfig(mode="entropy", entropy_transform=transform, entropy_floor=0.01)
        base = entropy_base_weights(cfg, ent)
        assert base[F] > base[N] > base[A] > base[T] > 0
        assert sum(base[r] for r in (F, N, A, T)) / 4 == pytest.approx(1.0, abs=1e-6)
        assert base[OT] == 0.0 and base[R] == 0.0
        if transform == "inv":
            assert base[F] / base[T] == pytest.approx(15.0)
        else:
            assert base[F] / base[T] == pytest.approx((1 - math.exp(-1.5)) / (1 - math.exp(-0.1)))
    # the floor caps the weight of near-deterministic regions
    cfg = WeightConfig(mode="entropy", entropy_floor=0.2)
    base = entropy_base_weights(cfg, {F: 1e-6, N: 0.2, A: 0.4, T: 0.8})
    assert base[F] == pytest.approx(base[N])
    # at nu=0 the region weights are the bases; the curriculum then moves format down and args/think up
    w0 = region_weights(cfg, 0.0, 0, ent)
    w1 = region_weights(cfg, 1.0, 0, ent)
    assert w1[N] == w0[N] and w1[F] <= w0[F] and w1[T] >= w0[T]
    # no measurement yet: the constant bases
    assert region_weights(cfg, 0.0, 0, None) == region_weights(WeightConfig(mode="code", schedule="progress"), 0.0, 0)


def test_entropy_mode_can_weight_every_region():
    cfg = WeightConfig(mode="entropy", zero_other=False)
    base = entropy_base_weights(cfg, {F: 0.1, N: 0.2, A: 0.5, T: 1.5, R: 1.0, OT: 2.0})
    assert all(base[r] > 0 for r in Region) and sum(base.values()) / 6 == pytest.approx(1.0, abs=1e-6)


def test_entropy_tracker_ema():
    tr = EntropyTracker(ema=0.9)
    tr.update({T: 1.0, N: 0.5})
    tr.update({T: 0.0, N: float("nan")})
    s = tr.smoothed()
    assert s[T] == pytest.approx(0.9) and s[N] == 0.5
    tr.update(region_stats([[T, N]], [[2.0, 0.1]]))  # accepts region_stats' (mean, count) tuples
    assert tr.smoothed()[T] == pytest.approx(0.9 * 0.9 + 0.1 * 2.0)
    clone = EntropyTracker()
    clone.load_state_dict(tr.state_dict())
    assert clone.smoothed() == tr.smoothed() and clone.ema == 0.9


def test_region_stats_masks_and_padding():
    regions = [[T, T, N, OT], [A, A]]
    ents = [[1.0, 3.0, 0.5, 9.0], [0.2, 0.4, 7.0, 7.0]]  # second row padded
    st = region_stats(regions, ents, mask=[[1, 1, 1, 0], [1, 1]])
    assert st == {T: (2.0, 2), N: (0.5, 1), A: (pytest.approx(0.3), 2)}


def test_config_errors_are_one_line_user_errors():
    for bad in (dict(mode="paper"), dict(schedule="cosine"), dict(entropy_transform="log"), dict(clamp_min=0.0)):
        with pytest.raises(UserError):
            WeightConfig(**bad)
