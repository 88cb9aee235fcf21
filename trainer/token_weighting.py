"""Region labels -> per-token loss weights for a batch of completions (pure: no torch, no TRL).

The one place both trainers (GRPO/ResT and weighted SFT) turn labelled
completions into weights. A completion whose tokens all fall in zero-weight
regions (no ToolRL tags at all: BFCL prompting `[f(a=1)]`, Llama-3 JSON,
Mistral `[TOOL_CALLS]`, fenced JSON, or plain prose) would get weight 0 on
every token and so no gradient at all, whatever its advantage; such a
sequence falls back to uniform weights (1 on every token), the plain GRPO
loss, and is counted so the trainer can warn and log `rest/unlabelled_frac`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from trainer.weights import WeightConfig, token_weights


@dataclass(frozen=True)
class BatchWeights:
    """Per-row token weights (each as long as its label row) and which rows fell back to uniform."""

    rows: list[list[float]]
    unlabelled: list[bool]

    @property
    def unlabelled_frac(self) -> float:
        n = sum(1 for r in self.rows if r)
        return sum(1 for r, u in zip(self.rows, self.unlabelled, strict=True) if r and u) / n if n else 0.0


def batch_token_weights(
    labels: Sequence[Sequence[int]], region_w: Mapping[int, float], cfg: WeightConfig, fallback_uniform: bool = True
) -> BatchWeights:
    """Weights of every row: region weight, clamp, mean 1 per sequence (trainer.weights.token_weights).

    A non-empty row whose weights are all 0 gets 1 on every token when `fallback_uniform`.
    """
    rows: list[list[float]] = []
    flags: list[bool] = []
    for row in labels:
        w = token_weights(row, region_w, cfg) if row else []
        fallback = bool(row) and not any(x > 0 for x in w)
        if fallback and fallback_uniform:
            w = [1.0] * len(row)
        rows.append(w)
        flags.append(fallback)
    return BatchWeights(rows, flags)


# ---------------------------------------------------------------- the same, vectorised (the GRPO rollout path)


def regions_tensor(labels: Sequence[Sequence[int]], shape: tuple[int, int], device=None):
    """(B, T) int64 region ids from per-row label lists (row i fills its first len(labels[i]) columns), built with
    one tensor copy instead of a tensor per row."""
    import itertools

    import torch

    lengths = torch.tensor([len(r) for r in labels], dtype=torch.long)
    out = torch.zeros(shape, dtype=torch.long)
    valid = torch.arange(shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
    out[valid] = torch.tensor(list(itertools.chain.from_iterable(labels)), dtype=torch.long)
    return out.to(device) if device is not None else out


def weight_matrix(regions, lengths, region_w: Mapping[int, float], cfg: WeightConfig, fallback_uniform: bool = True):
    """`batch_token_weights` on tensors: (B, T) float32 weights and the (B,) bool rows that fell back to uniform.

    regions: (B, T) region ids; lengths: (B,) labelled tokens per row (a prefix). Computed in float64 like the
    Python version (equal to it up to float rounding of the per-row mean), without a Python loop over tokens.
    """
    import torch

    valid = torch.arange(regions.shape[1], device=regions.device).unsqueeze(0) < lengths.to(regions.device).unsqueeze(1)
    n_regions = max(int(regions.max()) + 1 if regions.numel() else 1, max(region_w, default=0) + 1)
    lut = torch.zeros(n_regions, dtype=torch.float64, device=regions.device)
    for r, w in region_w.items():
        lut[int(r)] = float(w)
    raw = lut[regions] * valid
    clamped = torch.where(raw > 0, raw.clamp(cfg.clamp_min, cfg.clamp_max), torch.zeros_like(raw))
    count = (clamped > 0).sum(1, keepdim=True)
    mean = clamped.sum(1, keepdim=True) / count.clamp(min=1)
    scale = torch.where((count > 0) & (mean != 1.0), 1.0 / mean.clamp(min=cfg.eps), torch.ones_like(mean))
    weights = clamped * scale
    fallback = (count.squeeze(1) == 0) & (lengths.to(regions.device) > 0)
    if fallback_uniform:
        weights = torch.where(fallback.unsqueeze(1) & valid, torch.ones_like(weights), weights)
    return weights.float(), fallback
