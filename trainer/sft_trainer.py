"""Weighted SFT on TRL: an `SFTTrainer` whose per-token loss is multiplied by region weights.

SFT, TSFT (tool-token weighted) and RSFT (reasoning-token weighted) share it.
Rows are ToolRL prompts (system + user messages) with the ground truth as the
assistant turn; TRL's prompt-completion path puts labels only on the completion
(the assistant text and its end-of-turn marker), so prompt tokens carry no loss.

TSFT/RSFT weight each completion token by its region: regions from
`trainer.regions.RegionLabeller` over the completion's token ids, weights from
`trainer.token_weighting` (the same code the ResT trainer uses). The loss is
Σ w·ℓ / N with N the completion-token count TRL already uses (global over
gradient accumulation): since the weights average 1 per sequence over the
weighted tokens, N is also Σ w whenever every region weighs > 0, so this is the
weighted token mean, and TRL's normalisation across accumulation steps and
ranks is kept. With every weight 1 the loss is TRL's, bit for bit. The SFT
schedule (if any) runs on optimizer steps: supervised training has no rollouts.
"""

from __future__ import annotations

from typing import Any

import torch
from trl import SFTTrainer

from trainer.regions import Region, RegionLabeller
from trainer.token_weighting import batch_token_weights
from trainer.weights import WeightConfig, region_weights

REGION_NAMES = {int(r): r.name.lower() for r in Region}


class WeightedSFTTrainer(SFTTrainer):
    """SFTTrainer whose per-token loss is multiplied by region weights when `weight_config` is given."""

    def __init__(self, *args: Any, weight_config: WeightConfig | None = None,
                 region_labeller: RegionLabeller | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.weight_config = weight_config
        self.labeller = None
        if weight_config is not None:
            self.labeller = region_labeller or RegionLabeller(self.processing_class)

    def _progress(self) -> tuple[float, int]:
        max_steps = max(1, int(self.state.max_steps or 0))
        step = int(self.state.global_step)
        return min(1.0, step / max_steps), step

    def token_weight_matrix(self, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(weights, regions), both shaped like `labels`; 0 / OTHER wherever the label is -100."""
        progress, step = self._progress()
        region_w = region_weights(self.weight_config, progress, step)
        weights = torch.zeros(labels.shape, dtype=torch.float32)
        regions = torch.zeros(labels.shape, dtype=torch.long)
        for i, row in enumerate(labels.tolist()):
            pos = [t for t, v in enumerate(row) if v != -100]
            if not pos:
                continue
            reg = self.labeller.label([row[t] for t in pos])
            w = batch_token_weights([reg], region_w, self.weight_config).rows[0]
            idx = torch.tensor(pos)
            weights[i, idx] = torch.tensor(w, dtype=torch.float32)
            regions[i, idx] = torch.tensor(reg, dtype=torch.long)
        self._last_region_w = region_w
        return weights.to(labels.device), regions.to(labels.device)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.weight_config is None or return_outputs:
            return super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)
        mode = "train" if self.model.training else "eval"
        weights, regions = self.token_weight_matrix(inputs["labels"])
        outputs = model(**{**inputs, "use_cache": False}, fused_lm_head=True)
        per_token_loss = -outputs.log_probs * weights[:, 1:].to(outputs.log_probs.dtype)  # log_probs predict labels[:, 1:]
        num_tokens = outputs.label_mask.sum() if num_items_in_batch is None else num_items_in_batch
        loss = per_token_loss.sum() / torch.as_tensor(num_tokens).clamp(min=1)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * (self.accelerator.num_processes // self.get_tp_size())
        self._log_weighted_metrics(mode, outputs, inputs, regions[:, 1:], outputs.label_mask)
        return loss

    def _log_weighted_metrics(self, mode: str, outputs: Any, inputs: dict, regions: torch.Tensor, mask: torch.Tensor) -> None:
        """TRL's own SFT metrics (entropy, token accuracy, token count) plus region shares and weights."""
        m = self._metrics[mode]
        gather = self.accelerator.gather_for_metrics
        num_valid = gather(mask.sum()).sum()
        if num_valid > 0:
            m["entropy"].append((gather(outputs.entropy.detach().sum()).sum() / num_valid).item())
            m["mean_token_accuracy"].append((gather(outputs.is_top1.sum()).sum() / num_valid).item())
        if mode == "train" and "attention_mask" in inputs:
            self._total_train_tokens += gather(inputs["attention_mask"].sum()).sum().item()
        m["num_tokens"] = [self._total_train_tokens]
        counts = torch.bincount(regions[mask.bool()].flatten().cpu(), minlength=len(REGION_NAMES)).double()
        total = float(counts.sum())
        for r, name in REGION_NAMES.items():
            m[f"sft/share/{name}"].append(float(counts[r]) / total if total else 0.0)
            m[f"sft/weight/{name}"].append(float(self._last_region_w.get(r, 0.0)))
