"""ResT on TRL: a `GRPOTrainer` subclass that reweights the clipped surrogate per token.

Overrides at TRL's seams (trainers.md 1.13, "Option A"):

- `_generate_and_score_completions`: ticks the rollout clock (trainer/clock.py:
  ResT's and ToolRL's step is one rollout batch, not one optimizer step), lets
  TRL roll out and score, labels each completion token with its region (from
  the generated ids), turns the region weights of the current clock into a
  (B, T) `token_weights` tensor and stores it beside `completion_ids`, so
  TRL's shuffle/split keeps them aligned.
- `_compute_loss`: multiplies the advantages by the weights (exact per-token
  weighting of the clipped surrogate for w >= 0: -min(r*A*w, clip(r)*A*w) =
  w * -min(r*A, clip(r)*A)) and by a scalar that turns the loss type's token
  count into the weighted count, so `dapo` becomes ResT's `token-mean-weighted`
  Σ ℓ·m·w / Σ m·w. KL and entropy terms are added by TRL after the surrogate
  with their own masks, so they stay unweighted.
- `_save_checkpoint` / `_load_optimizer_and_scheduler`: the clock, the entropy
  tracker and the entropy window travel in `checkpoint-N/rest_state.json`
  (TRL's own pattern for its adaptive-entropy state), so `--resume` continues
  every schedule where it stopped.

Entropy-informed weights need region entropies of the current policy: TRL
already computes per-token entropies in the loss forward, so we catch them as
they leave `_get_per_token_logps_and_entropies` (no extra forward pass), reduce
them to per-region means and feed the smoothed means into the next rollout's
weights (one-step lag, smoothed by `EntropyTracker`).

With all weights 1 the loss is bitwise TRL's own (tests/trainer/test_loss.py).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from typing import Any

import torch
import trl
from trl import GRPOTrainer

from harness.types import UserError
from trainer.clock import RolloutClock, planned_rollouts
from trainer.regions import Region, RegionLabeller
from trainer.token_weighting import regions_array, weight_matrix
from trainer.weights import EntropyTracker, WeightConfig, region_weights

SUPPORTED_TRL = "1.16."
if not trl.__version__.startswith(SUPPORTED_TRL):
    raise UserError(
        f"trainer.grpo_trainer overrides private methods of TRL {SUPPORTED_TRL}x GRPOTrainer, but trl {trl.__version__} "
        f"is installed; install trl==1.16.0 or re-check _generate_and_score_completions/_compute_loss against it"
    )

REGION_NAMES = {int(r): r.name.lower() for r in Region}
N_REGIONS = max(REGION_NAMES) + 1
STATE_FILE = "rest_state.json"
# Loss types whose aggregation divides by a token count (and how: global, per sequence, per micro-batch).
_GLOBAL_COUNT = ("dapo", "cispo")
_SEQ_COUNT = ("grpo", "sapo")
_BATCH_COUNT = ("bnpo",)


class RestGRPOTrainer(GRPOTrainer):
    """GRPOTrainer + region-based token weights (ResT).

    Extra kwargs: `weight_config` (trainer.weights.WeightConfig; uniform = plain GRPO), `region_labeller`,
    `clock` (shared with the reward functions so both schedule on rollouts), `reward_config` (to log the
    reward ranges of the current rollout).
    """

    def __init__(self, *args: Any, weight_config: WeightConfig | None = None, region_labeller: RegionLabeller | None = None,
                 clock: RolloutClock | None = None, reward_config: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.loss_type == "vespo":
            raise UserError("loss_type vespo is not supported with token weights (its gamma weights are not linear in A)")
        self.weight_config = weight_config or WeightConfig()
        self.weight_mode = self.weight_config.mode
        self.reward_config = reward_config
        self.clock = clock or RolloutClock()
        self.labeller = region_labeller or RegionLabeller(self.processing_class)
        self.entropy_tracker = EntropyTracker(self.weight_config.entropy_ema)
        self._capture_entropy = False
        self._captured_entropies: torch.Tensor | None = None
        self._entropy_window = torch.zeros(2, N_REGIONS, dtype=torch.float64)  # sums, counts since last rollout
        self._warned_unlabelled = False
        self.last_region_weights: dict[int, float] = {}

    # ------------------------------------------------------------ clock

    def _planned_rollouts(self) -> int | None:
        max_steps = int(self.state.max_steps or 0)
        if max_steps <= 0:
            return None
        return planned_rollouts(max_steps, self.args.gradient_accumulation_steps, self.args.steps_per_generation,
                                self.num_iterations)

    def _current_region_weights(self) -> dict[int, float]:
        if self.weight_mode == "uniform":
            return {r: 1.0 for r in REGION_NAMES}
        region_entropy = (self.entropy_tracker.smoothed() or None) if self.weight_mode == "entropy" else None
        w = region_weights(self.weight_config, self.clock.progress_or_zero(), self.clock.step, region_entropy=region_entropy)
        return {int(k): float(v) for k, v in w.items()}

    # ------------------------------------------------------------ rollout side

    def _flush_entropy_window(self) -> None:
        """Feed the per-region entropy means measured since the last rollout into the tracker."""
        sums, counts = self._entropy_window
        means = {Region(r): float(sums[r] / counts[r]) for r in range(N_REGIONS) if counts[r] > 0}
        if means:
            self.entropy_tracker.update(means)
        self._entropy_window.zero_()

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        mode = "train" if self.model.training else "eval"
        if mode == "train":  # before TRL scores: the reward functions read the same clock
            if self.clock.total is None:
                self.clock.total = self._planned_rollouts()
            self.clock.tick()
        out = super()._generate_and_score_completions(inputs)
        t0 = time.perf_counter()
        if mode == "train":
            self._flush_entropy_window()
        completion_ids, completion_mask = out["completion_ids"], out["completion_mask"]
        mask = completion_mask if "tool_mask" not in out else completion_mask * out["tool_mask"]
        lengths = completion_mask.sum(1).tolist()  # completion_mask is a prefix of ones (or all zero if masked)
        ids = completion_ids.tolist()
        labels = self.labeller.label_batch([row[: int(n)] for row, n in zip(ids, lengths, strict=True)])
        regions_np = regions_array(labels, tuple(completion_ids.shape))  # host arrays; one copy to the device
        regions = torch.from_numpy(regions_np).to(completion_ids.device)
        region_w = self._current_region_weights() if mode == "train" else (self.last_region_weights or self._current_region_weights())
        if mode == "train":
            self.last_region_weights = region_w
        unlabelled_frac = 0.0
        if self.weight_mode == "uniform":
            weights = torch.ones_like(mask, dtype=torch.float32)
        else:  # vectorised batch_token_weights (trainer/token_weighting.py)
            n_labelled = [len(r) for r in labels]
            weights, fallback = weight_matrix(regions_np, n_labelled, region_w, self.weight_config)  # 0 past each prefix
            weights = weights.to(mask.device)
            if "tool_mask" in out:
                weights = weights * out["tool_mask"]
            has_tokens = sum(1 for n in n_labelled if n > 0)
            unlabelled_frac = float(fallback.sum()) / has_tokens if has_tokens else 0.0
            if bool(fallback.any()) and not self._warned_unlabelled:
                self._warned_unlabelled = True
                warnings.warn(
                    "ResT: some completions hold no ToolRL region (no <think>/<tool_call>/<response> tags: another "
                    "output format?); they are trained with uniform weights (plain GRPO). Share per step: "
                    "rest/unlabelled_frac.", stacklevel=2)
        if weights.shape != completion_ids.shape:  # TRL issue #5144: side tensors must stay aligned
            raise RuntimeError(f"token_weights {tuple(weights.shape)} != completion_ids {tuple(completion_ids.shape)}")
        weights = weights.to(mask.device)
        out["region_ids"] = regions.to(mask.device)
        out["token_weights"] = weights
        out["weighted_items_in_batch"] = self.accelerator.gather((weights * mask).sum()).sum()
        self._log_rollout_metrics(mode, regions, mask, region_w, out, unlabelled_frac)
        self._metrics[mode]["rest/overhead_s"].append(time.perf_counter() - t0)
        return out

    def _log_rollout_metrics(self, mode: str, regions: torch.Tensor, mask: torch.Tensor, region_w: dict[int, float],
                             out: dict, unlabelled_frac: float) -> None:
        m = self._metrics[mode]
        sel = mask.bool()
        counts = torch.bincount(regions[sel].flatten().cpu(), minlength=N_REGIONS).double()
        counts = self.accelerator.reduce(counts.to(mask.device), reduction="sum").cpu()
        total = float(counts.sum())
        for r, name in REGION_NAMES.items():
            m[f"rest/share/{name}"].append(float(counts[r]) / total if total else 0.0)
            m[f"rest/weight/{name}"].append(float(region_w.get(r, 0.0)))
        for r, v in (self.entropy_tracker.smoothed() or {}).items():
            m[f"rest/entropy_smoothed/{REGION_NAMES[int(r)]}"].append(float(v))
        n_items = float(out["num_items_in_batch"])
        m["rest/weighted_token_frac"].append(float(out["weighted_items_in_batch"]) / n_items if n_items else 0.0)
        m["rest/unlabelled_frac"].append(unlabelled_frac)
        m["rest/rollout"].append(float(self.clock.step))
        m["rest/progress"].append(self.clock.progress_or_zero())
        if self.reward_config is not None:
            from harness.toolrl.schedule import reward_ranges

            fmin, fmax, cmin, cmax = reward_ranges(self.reward_config, self.clock.step, self.clock.progress)
            for key, v in (("format_max", fmax), ("format_min", fmin), ("correct_max", cmax), ("correct_min", cmin)):
                m[f"reward/{key}"].append(float(v))
        if m.get("frac_reward_zero_std"):
            m["reward/frac_groups_with_variance"].append(1.0 - m["frac_reward_zero_std"][-1])

    # ------------------------------------------------------------ loss side

    def _get_per_token_logps_and_entropies(self, *args: Any, **kwargs: Any):
        logps, entropies, aux = super()._get_per_token_logps_and_entropies(*args, **kwargs)
        if self._capture_entropy and entropies is not None:
            self._captured_entropies = entropies.detach()
        return logps, entropies, aux

    def denominator_scale(self, inputs: dict[str, Any], weights: torch.Tensor, mask: torch.Tensor) -> torch.Tensor | float:
        """Factor turning the loss type's token count into the weighted count Σ m·w (1 when all w are 1)."""
        if self.loss_type in _GLOBAL_COUNT:
            n = inputs["num_items_in_batch"].to(weights.dtype)
            w = inputs["weighted_items_in_batch"].to(weights.dtype)
            return torch.where(w > 0, n / w.clamp(min=1e-8), torch.zeros_like(w))
        if self.loss_type in _SEQ_COUNT:
            n = mask.sum(-1, keepdim=True).to(weights.dtype)
            w = (weights * mask).sum(-1, keepdim=True)
            return torch.where(w > 0, n / w.clamp(min=1e-8), torch.zeros_like(w))
        if self.loss_type in _BATCH_COUNT:
            n = mask.sum().to(weights.dtype)
            w = (weights * mask).sum()
            return torch.where(w > 0, n / w.clamp(min=1e-8), torch.zeros_like(w))
        return 1.0  # dr_grpo (constant normaliser), luspo (sequence sum): weights are mean-1 per sequence already

    def _compute_loss(self, model, inputs):
        weights = inputs.get("token_weights")
        if weights is None:  # batches built by plain TRL code paths
            return super()._compute_loss(model, inputs)
        t0 = time.perf_counter()
        mask = inputs["completion_mask"] if "tool_mask" not in inputs else inputs["completion_mask"] * inputs["tool_mask"]
        advantages = inputs["advantages"]
        if advantages.dim() == 1:
            advantages = advantages.unsqueeze(1)
        scaled = {**inputs, "advantages": advantages * (weights * self.denominator_scale(inputs, weights, mask))}
        self._capture_entropy, self._captured_entropies = True, None
        t1 = time.perf_counter()
        try:
            loss = super()._compute_loss(model, scaled)
        finally:
            self._capture_entropy = False
        t2 = time.perf_counter()
        if self._captured_entropies is not None and "region_ids" in inputs:
            self._record_region_entropy(inputs["region_ids"], self._captured_entropies, mask)
        mode = "train" if self.model.training else "eval"
        self._metrics[mode]["rest/loss_overhead_s"].append((t1 - t0) + (time.perf_counter() - t2))
        return loss

    def _record_region_entropy(self, regions: torch.Tensor, entropies: torch.Tensor, mask: torch.Tensor) -> None:
        sel = mask.bool()
        r = regions[sel].flatten()
        sums = torch.bincount(r, weights=entropies[sel].flatten().double(), minlength=N_REGIONS)
        counts = torch.bincount(r, minlength=N_REGIONS).double()
        stats = self.accelerator.reduce(torch.stack([sums, counts]), reduction="sum").cpu()
        mode = "train" if self.model.training else "eval"
        if mode == "train":
            self._entropy_window += stats
        for i, name in REGION_NAMES.items():
            if stats[1, i] > 0:
                self._metrics[mode][f"rest/entropy/{name}"].append(float(stats[0, i] / stats[1, i]))

    # ------------------------------------------------------------ checkpoint state

    def rest_state(self) -> dict[str, Any]:
        """Everything beyond TRL's own checkpoint that a resumed run needs to continue its schedules."""
        return {
            "clock": self.clock.state_dict(),
            "entropy_tracker": self.entropy_tracker.state_dict(),
            "entropy_window": self._entropy_window.tolist(),
            "last_region_weights": {str(k): v for k, v in self.last_region_weights.items()},
        }

    def load_rest_state(self, state: dict[str, Any]) -> None:
        self.clock.load_state_dict(state.get("clock", {}))
        self.entropy_tracker.load_state_dict(state.get("entropy_tracker", {}))
        if state.get("entropy_window") is not None:
            self._entropy_window = torch.tensor(state["entropy_window"], dtype=torch.float64)
        self.last_region_weights = {int(k): float(v) for k, v in (state.get("last_region_weights") or {}).items()}

    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            folder = os.path.join(self._get_output_dir(trial=trial), f"checkpoint-{self.state.global_step}")
            with open(os.path.join(folder, STATE_FILE), "w") as fh:
                json.dump(self.rest_state(), fh)

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is not None:
            path = os.path.join(checkpoint, STATE_FILE)
            if os.path.isfile(path):
                with open(path) as fh:
                    self.load_rest_state(json.load(fh))
