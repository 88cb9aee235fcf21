"""ResT on TRL: a `GRPOTrainer` subclass that reweights the clipped surrogate per token.

Two small overrides (trainers.md 1.13, "Option A"):

- `_generate_and_score_completions`: after TRL's own rollout + rewards, label each
  completion token with its region (from the generated ids), turn the region
  weights of the current progress into a (B, T) `token_weights` tensor and store
  it beside `completion_ids`, so TRL's shuffle/split keeps them aligned.
- `_compute_loss`: multiply the advantages by the weights (exact per-token
  weighting of the clipped surrogate for w >= 0: -min(r*A*w, clip(r)*A*w) =
  w * -min(r*A, clip(r)*A)) and by a scalar that turns the loss type's token
  count into the weighted count, so `dapo` becomes ResT's `token-mean-weighted`
  Σ ℓ·m·w / Σ m·w. KL and entropy terms are added by TRL after the surrogate
  with their own masks, so they stay unweighted.

Entropy-informed weights need region entropies of the current policy: TRL
already computes per-token entropies in the loss forward, so we catch them as
they leave `_get_per_token_logps_and_entropies` (no extra forward pass), reduce
them to per-region means and feed the smoothed means into the next rollout's
weights (one-step lag, smoothed by `EntropyTracker`).

With all weights 1 the loss is bitwise TRL's own (tests/trainer/test_loss.py).
"""

from __future__ import annotations

import time
from typing import Any

import torch
import trl
from trl import GRPOTrainer

from harness.types import UserError
from trainer.regions import Region, RegionLabeller

SUPPORTED_TRL = "1.16."
if not trl.__version__.startswith(SUPPORTED_TRL):
    raise UserError(
        f"trainer.rest_trainer overrides private methods of TRL {SUPPORTED_TRL}x GRPOTrainer, but trl {trl.__version__} "
        f"is installed; install trl==1.16.0 or re-check _generate_and_score_completions/_compute_loss against it"
    )

REGION_NAMES = {int(r): r.name.lower() for r in Region}
N_REGIONS = max(REGION_NAMES) + 1
# Loss types whose aggregation divides by a token count (and how: global, per sequence, per micro-batch).
_GLOBAL_COUNT = ("dapo", "cispo")
_SEQ_COUNT = ("grpo", "sapo")
_BATCH_COUNT = ("bnpo",)


def _weights_module():
    try:
        from trainer import weights
    except ImportError:  # pragma: no cover - until trainer/weights.py lands
        return None
    return weights


def weight_mode(cfg: Any) -> str:
    mode = getattr(cfg, "mode", "uniform") if cfg is not None else "uniform"
    return str(getattr(mode, "value", mode))


class RestGRPOTrainer(GRPOTrainer):
    """GRPOTrainer + region-based token weights (ResT). Extra kwargs: `weight_config`, `region_labeller`."""

    def __init__(self, *args: Any, weight_config: Any = None, region_labeller: RegionLabeller | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.loss_type == "vespo":
            raise UserError("loss_type vespo is not supported with token weights (its gamma weights are not linear in A)")
        self.weight_config = weight_config
        self.weight_mode = weight_mode(weight_config)
        self._wmod = _weights_module()
        if self.weight_mode != "uniform" and self._wmod is None:
            raise UserError(f"weights.mode={self.weight_mode} needs trainer/weights.py, which is not installed")
        self.labeller = region_labeller or RegionLabeller(self.processing_class)
        self.entropy_tracker = None
        if self._wmod is not None:
            ema = getattr(weight_config, "entropy_ema", None)
            self.entropy_tracker = self._wmod.EntropyTracker(ema) if ema is not None else self._wmod.EntropyTracker()
        self._capture_entropy = False
        self._captured_entropies: torch.Tensor | None = None
        self._entropy_window = torch.zeros(2, N_REGIONS, dtype=torch.float64)  # sums, counts since last rollout
        self.last_region_weights: dict[int, float] = {}

    # ------------------------------------------------------------ rollout side

    def _progress(self) -> float:
        max_steps = max(1, int(self.state.max_steps or 0))
        return min(1.0, max(0.0, self.state.global_step / max_steps))

    def _current_region_weights(self) -> dict[int, float]:
        if self.weight_mode == "uniform" or self._wmod is None:
            return {r: 1.0 for r in REGION_NAMES}
        region_entropy = None
        if self.weight_mode == "entropy":
            smoothed = self.entropy_tracker.smoothed()
            region_entropy = smoothed or None
        w = self._wmod.region_weights(self.weight_config, self._progress(), self.state.global_step, region_entropy=region_entropy)
        return {int(k): float(v) for k, v in w.items()}

    def _flush_entropy_window(self) -> None:
        """Feed the per-region entropy means measured since the last rollout into the tracker."""
        sums, counts = self._entropy_window
        means = {Region(r): float(sums[r] / counts[r]) for r in range(N_REGIONS) if counts[r] > 0}
        if means and self.entropy_tracker is not None:
            self.entropy_tracker.update(means)
        self._entropy_window.zero_()

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        out = super()._generate_and_score_completions(inputs)
        t0 = time.perf_counter()
        mode = "train" if self.model.training else "eval"
        if mode == "train":
            self._flush_entropy_window()
        completion_ids, completion_mask = out["completion_ids"], out["completion_mask"]
        mask = completion_mask if "tool_mask" not in out else completion_mask * out["tool_mask"]
        lengths = completion_mask.sum(1).tolist()  # completion_mask is a prefix of ones (or all zero if masked)
        ids = completion_ids.tolist()
        labels = self.labeller.label_batch([row[: int(n)] for row, n in zip(ids, lengths, strict=True)])
        regions = torch.zeros_like(completion_ids)
        for i, row in enumerate(labels):
            if row:
                regions[i, : len(row)] = torch.tensor(row, dtype=regions.dtype)
        region_w = self._current_region_weights() if mode == "train" else (self.last_region_weights or self._current_region_weights())
        if mode == "train":
            self.last_region_weights = region_w
        if self.weight_mode == "uniform":
            weights = torch.ones_like(mask, dtype=torch.float32)
        else:
            weights = torch.zeros_like(mask, dtype=torch.float32)
            for i, row in enumerate(labels):
                if row:
                    w = self._wmod.token_weights(row, region_w, self.weight_config)
                    weights[i, : len(w)] = torch.tensor(w, dtype=torch.float32)
            weights = weights * mask
        if weights.shape != completion_ids.shape:  # TRL issue #5144: side tensors must stay aligned
            raise RuntimeError(f"token_weights {tuple(weights.shape)} != completion_ids {tuple(completion_ids.shape)}")
        weights = weights.to(mask.device)
        out["region_ids"] = regions.to(mask.device)
        out["token_weights"] = weights
        out["weighted_items_in_batch"] = self.accelerator.gather((weights * mask).sum()).sum()
        self._log_rollout_metrics(mode, regions, mask, region_w, out)
        self._metrics[mode]["rest/overhead_s"].append(time.perf_counter() - t0)
        return out

    def _log_rollout_metrics(self, mode: str, regions: torch.Tensor, mask: torch.Tensor, region_w: dict[int, float], out: dict) -> None:
        m = self._metrics[mode]
        sel = mask.bool()
        counts = torch.bincount(regions[sel].flatten().cpu(), minlength=N_REGIONS).double()
        counts = self.accelerator.reduce(counts.to(mask.device), reduction="sum").cpu()
        total = float(counts.sum())
        for r, name in REGION_NAMES.items():
            m[f"rest/share/{name}"].append(float(counts[r]) / total if total else 0.0)
            m[f"rest/weight/{name}"].append(float(region_w.get(r, 0.0)))
        if self.entropy_tracker is not None:
            for r, v in (self.entropy_tracker.smoothed() or {}).items():
                m[f"rest/entropy_smoothed/{REGION_NAMES[int(r)]}"].append(float(v))
        n_items = float(out["num_items_in_batch"])
        m["rest/weighted_token_frac"].append(float(out["weighted_items_in_batch"]) / n_items if n_items else 0.0)
        m["rest/progress"].append(self._progress())
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


# ---------------------------------------------------------------- assembly from a TrainConfig


def grpo_args(cfg: Any, output_dir: str | None = None):
    """TrainConfig -> trl.GRPOConfig (CPU-safe defaults; `grpo.extra` passes other fields through)."""
    from trl import GRPOConfig

    from trainer.metrics import wandb_report_to

    g = cfg.grpo
    out = output_dir or cfg.output_dir
    kwargs = dict(
        output_dir=out,
        learning_rate=g.learning_rate,
        per_device_train_batch_size=g.per_device_train_batch_size,
        gradient_accumulation_steps=g.gradient_accumulation_steps,
        num_generations=g.num_generations,
        max_completion_length=g.max_completion_length,
        temperature=g.temperature,
        top_p=g.top_p,
        max_steps=g.max_steps,
        num_train_epochs=g.num_train_epochs,
        loss_type=g.loss_type,
        beta=g.beta,
        epsilon=g.epsilon,
        epsilon_high=g.epsilon_high,
        scale_rewards=g.scale_rewards,
        mask_truncated_completions=g.mask_truncated_completions,
        weight_decay=g.weight_decay,
        max_grad_norm=g.max_grad_norm,
        warmup_steps=g.warmup_steps,
        save_strategy="steps",
        save_steps=g.save_steps,
        save_total_limit=g.save_total_limit,
        save_only_model=g.save_only_model,
        logging_steps=g.logging_steps,
        seed=g.seed,
        bf16=g.bf16,
        fp16=False,
        use_cpu=g.use_cpu,
        gradient_checkpointing=g.gradient_checkpointing,
        use_vllm=resolve_use_vllm(g.use_vllm),
        vllm_mode=g.vllm_mode,
        vllm_gpu_memory_utilization=g.vllm_gpu_memory_utilization,
        log_completions=g.log_completions,
        report_to=wandb_report_to(cfg.wandb, out),
        run_name=cfg.wandb.run_name,
        dataloader_num_workers=0,
    )
    kwargs.update(g.extra or {})
    return GRPOConfig(**kwargs)


def resolve_use_vllm(value: bool | str) -> bool:
    """`auto`: vLLM generation when vllm is importable and CUDA is available (never on CPU)."""
    if value != "auto":
        return bool(value)
    import importlib.util

    return importlib.util.find_spec("vllm") is not None and torch.cuda.is_available()


def resolve_model_path(spec: str) -> str:
    if spec == "embedded":
        from harness.embedded import embedded_model_dir

        return str(embedded_model_dir())
    return spec


def load_tokenizer(spec: str):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(resolve_model_path(spec))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(spec: str, bf16: bool = False):
    """A full checkpoint, or a LoRA adapter dir (warm start from SFT): base + adapter merged, then trained in full."""
    from transformers import AutoModelForCausalLM

    from trainer.sft import is_adapter_dir, load_warm_start

    path = resolve_model_path(spec)
    dtype = torch.bfloat16 if bf16 else torch.float32
    if is_adapter_dir(path):
        return load_warm_start(path, merge=True, dtype=dtype)
    return AutoModelForCausalLM.from_pretrained(path, dtype=dtype)


def default_reward_funcs(cfg: Any, tokenizer: Any = None) -> list:
    """The harness checkers as TRL reward callables (harness/rewards.py)."""
    try:
        from harness.rewards import RewardConfig, make_trl_reward_funcs
    except ImportError as exc:
        raise UserError(f"training needs harness/rewards.py (make_trl_reward_funcs), not importable: {exc}") from None
    return list(make_trl_reward_funcs(RewardConfig(**(cfg.reward or {})), tokenizer=tokenizer))


def build_trainer(cfg: Any, model: Any = None, tokenizer: Any = None, reward_funcs: list | None = None,
                  train_dataset: Any = None, callbacks: list | None = None, trainer_cls: type | None = None) -> GRPOTrainer:
    """Everything `rest train` wires together; tests inject a tiny model, tokenizer, rewards or data."""
    from pathlib import Path

    from trainer.data import load_dataset
    from trainer.metrics import JsonlMetricsCallback

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if tokenizer is None:
        tokenizer = load_tokenizer(cfg.tokenizer or cfg.model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if train_dataset is None:
        train_dataset = load_dataset(cfg.data.train, tokenizer, cfg.grpo.max_prompt_length, cfg.data.limit)
    eval_dataset = load_dataset(cfg.data.eval, tokenizer, cfg.grpo.max_prompt_length) if cfg.data.eval else None
    if reward_funcs is None:
        reward_funcs = default_reward_funcs(cfg, tokenizer)
    peft_config = None
    if cfg.lora.enabled:
        from peft import LoraConfig

        peft_config = LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                                 target_modules=cfg.lora.target_modules, task_type="CAUSAL_LM")
    if model is None:
        model = load_model(cfg.model, bf16=cfg.grpo.bf16)
    cbs = [JsonlMetricsCallback(out / "metrics.jsonl"), *(callbacks or [])]
    if cfg.eval.on_save and cfg.eval.tasks:  # every saved checkpoint scored by the harness
        from trainer.eval_callback import CheckpointEvalCallback

        device = "cpu" if cfg.grpo.use_cpu else "auto"
        cbs.append(CheckpointEvalCallback(cfg.eval.tasks, limit=cfg.eval.limit, max_new_tokens=cfg.eval.max_new_tokens,
                                          mode=cfg.eval.mode, device=device))
    cls = trainer_cls or RestGRPOTrainer
    extra = {"weight_config": cfg.weights} if issubclass(cls, RestGRPOTrainer) else {}
    return cls(
        model=model,
        reward_funcs=reward_funcs,
        args=grpo_args(cfg),
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        callbacks=cbs,
        peft_config=peft_config,
        **extra,
    )


def train(cfg: Any, **overrides: Any) -> RestGRPOTrainer:
    """Run a full training: write config.yaml, train, save the final model + tokenizer in output_dir."""
    from pathlib import Path

    from trainer.config import dump_config

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    dump_config(cfg, out / "config.yaml")
    trainer = build_trainer(cfg, **overrides)
    trainer.train()
    trainer.save_model(str(out))
    trainer.processing_class.save_pretrained(str(out))
    return trainer
