"""The training clock counts rollout batches: the paper's batch shape gives the paper's schedule values."""

from __future__ import annotations

import pytest

from harness.toolrl.schedule import RewardConfig, reward_ranges
from trainer.clock import RolloutClock, planned_rollouts
from trainer.config import load_config
from trainer.regions import Region
from trainer.weights import region_weights


def paper_clock() -> tuple[RolloutClock, int]:
    """A clock driven the way TRL drives it under `grpo-paper` on 8 ranks (840 optimizer steps)."""
    paper = load_config("grpo-paper", ["data.train=toolrl:sft"]).grpo
    world = 8
    prompts_per_rollout = paper.per_device_train_batch_size * paper.steps_per_generation * world // paper.num_generations
    updates_per_rollout = paper.steps_per_generation // paper.gradient_accumulation_steps
    assert (prompts_per_rollout, updates_per_rollout) == (512, 8)
    total = planned_rollouts(paper.max_steps, paper.gradient_accumulation_steps, paper.steps_per_generation)
    return RolloutClock(total=total), total


def test_paper_batch_shape_reproduces_paper_values_after_105_rollouts():
    clock, total = paper_clock()
    assert total == 105
    for _ in range(105):
        clock.tick()
    code = load_config("rest-code", ["data.train=toolrl:sft"]).weights
    w = region_weights(code, clock.progress, clock.step)
    assert w[Region.ARGS] == pytest.approx(0.81) and w[Region.THINK] == pytest.approx(0.81)
    fmin, fmax, cmin, cmax = reward_ranges(RewardConfig(), clock.step, clock.progress)
    assert fmax == pytest.approx(1.30) and cmax == pytest.approx(2.70)
    assert clock.progress == 1.0


def test_optimizer_steps_would_finish_the_schedules_eight_times_early():
    """The defect this clock fixes: on optimizer steps the same run ends at step 840, far past both horizons."""
    code = load_config("rest-code", ["data.train=toolrl:sft"]).weights
    on_steps = region_weights(code, 1.0, 840)
    assert on_steps[Region.ARGS] == pytest.approx(1.2)  # capped: the curriculum ran out after 300 of 840 steps
    assert reward_ranges(RewardConfig(), 840)[1] == 1.0  # format max at its floor since step 150


def test_first_rollout_is_step_one_like_verl():
    clock = RolloutClock(total=10)
    assert (clock.step, clock.progress) == (0, 0.0)
    clock.tick()
    code = load_config("rest-code", ["data.train=toolrl:sft"]).weights
    assert region_weights(code, clock.progress, clock.step)[Region.ARGS] == pytest.approx(0.602)
    assert clock.progress == pytest.approx(0.1)


@pytest.mark.parametrize("max_steps, ga, spg, iters, expected", [
    (2, 1, 1, 1, 2),       # one update per rollout: rollouts = optimizer steps
    (840, 8, 64, 1, 105),  # the paper: 8 updates per rollout
    (10, 4, 4, 2, 5),      # num_iterations 2: each rollout trained on twice
    (3, 2, 4, 1, 2),       # a run ending mid-rollout still generated that rollout
    (0, 1, 1, 1, 0),
])
def test_planned_rollouts(max_steps, ga, spg, iters, expected):
    assert planned_rollouts(max_steps, ga, spg, iters) == expected


def test_clock_state_round_trips():
    a = RolloutClock(total=7)
    a.tick(), a.tick()
    b = RolloutClock()
    b.load_state_dict(a.state_dict())
    assert (b.step, b.total, b.progress) == (2, 7, a.progress)
