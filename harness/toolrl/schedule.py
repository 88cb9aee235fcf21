"""The ToolRL reward's ranges and how they move over training (ResT's "dynamic reward").

Base ranges: format [0, 1], correctness [-3, 3]. `schedule="toolrl"` is
ToolRL's SCHEDULEREWARD: with p = step/horizon (horizon hard-coded 150 there),
max_f = max(1, 2 - (2-max)·p), min_f = min(-1, -2 + (2+min)·p),
max_c = min(3, 2 + (max-2)·p), min_c = max(-3, -2 + (min+2)·p).
`schedule="progress"` uses p = training progress ν instead (the same shape
over the whole run); `"none"` keeps the base ranges. The trainer logs the
ranges at each step (`reward/*`), so they live apart from the reward itself.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from harness.types import UserError

SCHEDULES = ("toolrl", "progress", "none")


@dataclass
class RewardConfig:
    """ToolRL reward ranges and their schedule; defaults are ResT's (`SCHEDULEREWARD=1`)."""

    format_max: float = 1.0
    format_min: float = 0.0
    correct_max: float = 3.0
    correct_min: float = -3.0
    schedule: str = "toolrl"  # "toolrl" (p = step/horizon), "progress" (p = nu), "none"
    horizon: float = 150.0  # ToolRL's hard-coded step horizon

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise UserError(f"reward.schedule {self.schedule!r}: expected one of {', '.join(SCHEDULES)}")
        if not self.horizon > 0:
            raise UserError(f"reward.horizon must be > 0, got {self.horizon}")
        if self.format_min > self.format_max or self.correct_min > self.correct_max:
            raise UserError("reward: a *_min is above its *_max")


def reward_ranges(cfg: RewardConfig, step: float, progress: float | None = None) -> tuple[float, float, float, float]:
    """(format_min, format_max, correct_min, correct_max) at this step (see the module doc)."""
    return _ranges(
        cfg.format_min, cfg.format_max, cfg.correct_min, cfg.correct_max, cfg.schedule, cfg.horizon, step, progress
    )


@functools.lru_cache(maxsize=4096)
def _ranges(fmin, fmax, cmin, cmax, schedule, horizon, step, progress) -> tuple[float, float, float, float]:
    if schedule == "none":
        return fmin, fmax, cmin, cmax
    if schedule == "toolrl":

        def scaled(x: float) -> float:  # same operation order as ToolRL, so floats match bit for bit
            return x * step / horizon

    else:
        nu = 0.0 if progress is None else min(1.0, max(0.0, float(progress)))

        def scaled(x: float) -> float:
            return x * nu

    fmax = max(1.0, 2 - scaled(2 - fmax))
    fmin = min(-1.0, -2 + scaled(2 + fmin))
    cmax = min(3.0, scaled(cmax - 2) + 2)
    cmin = max(-3.0, scaled(cmin + 2) - 2)
    return fmin, fmax, cmin, cmax
