"""The training clock of ResT and ToolRL: rollout batches consumed, not optimizer steps.

In the official verl runs one "step" is one rollout batch (512 prompts x 4
samples) followed by 8 mini-batch updates; the reward-range schedule
(`p = step/150`) and the code's weight schedule (`0.6 + 0.002*step`) both
count those batches, starting at 1. TRL counts optimizer steps, so with more
than one update per rollout (or another batch shape) a schedule on
`global_step` finishes many times too early. Everything that schedules by
training time reads this clock instead (pure: no torch, no TRL).

- `step`: the 1-based number of the rollout being trained on (verl's
  `global_steps`), 0 before the first rollout.
- `progress`: nu = step / total in [0, 1] (the paper's curriculum variable);
  `None` when the total is unknown (an epoch-less iterable dataset).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


def planned_rollouts(max_steps: int, grad_accum: int, steps_per_generation: int, num_iterations: int = 1) -> int:
    """Rollout batches a TRL run of `max_steps` optimizer steps generates.

    TRL generates once every `steps_per_generation * num_iterations` micro-batches and takes
    `grad_accum` micro-batches per optimizer step.
    """
    if max_steps <= 0:
        return 0
    every = max(1, steps_per_generation) * max(1, num_iterations)
    return math.ceil(max_steps * max(1, grad_accum) / every)


@dataclass
class RolloutClock:
    """Counts rollout batches; `tick()` once per training rollout, before its rewards are computed."""

    rollouts: int = 0
    total: int | None = None

    def tick(self) -> int:
        self.rollouts += 1
        return self.rollouts

    @property
    def step(self) -> int:
        return self.rollouts

    @property
    def progress(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, max(0.0, self.rollouts / self.total))

    def progress_or_zero(self) -> float:
        p = self.progress
        return 0.0 if p is None else p

    def state_dict(self) -> dict[str, int | None]:
        return {"rollouts": self.rollouts, "total": self.total}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        self.rollouts = int(state.get("rollouts", 0) or 0)  # type: ignore[arg-type]
        total = state.get("total")
        self.total = int(total) if total is not None else self.total  # type: ignore[arg-type]
