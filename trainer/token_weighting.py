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
#
# In numpy on the host, where the labels are: single-threaded array code takes well under a millisecond for
# 64 x 869 tokens, while torch CPU ops of that size on a busy machine wait on their OpenMP threads (measured
# here: 2-thread torch ops slower than the Python loop under load). One copy to the device at the end.


def regions_tensor(labels: Sequence[Sequence[int]], shape: tuple[int, int], device=None):
    """(B, T) int64 region ids from per-row label lists (row i fills its first len(labels[i]) columns)."""
    import torch

    return torch.from_numpy(regions_array(labels, shape)).to(device if device is not None else "cpu")


def regions_array(labels: Sequence[Sequence[int]], shape: tuple[int, int]):
    """`regions_tensor` as a host numpy array (what `weight_matrix` reads without a device round trip)."""
    import itertools

    import numpy as np

    lengths = np.fromiter((len(r) for r in labels), dtype=np.int64, count=len(labels))
    out = np.zeros(shape, dtype=np.int64)
    out[np.arange(shape[1])[None, :] < lengths[:, None]] = np.fromiter(
        itertools.chain.from_iterable(labels), dtype=np.int64, count=int(lengths.sum()))
    return out


def weight_matrix(regions, lengths, region_w: Mapping[int, float], cfg: WeightConfig, fallback_uniform: bool = True):
    """`batch_token_weights` on arrays: (B, T) float32 weights and the (B,) bool rows that fell back to uniform,
    as torch tensors on `regions`' device.

    regions: (B, T) region ids; lengths: (B,) labelled tokens per row (a prefix); tensors or arrays. Computed in
    float64 like the Python version (equal to it up to float rounding of the per-row mean).
    """
    import numpy as np
    import torch

    device = regions.device if isinstance(regions, torch.Tensor) else "cpu"
    reg = regions.cpu().numpy() if isinstance(regions, torch.Tensor) else np.asarray(regions)
    n = lengths.cpu().numpy() if isinstance(lengths, torch.Tensor) else np.asarray(lengths)
    valid = np.arange(reg.shape[1])[None, :] < n[:, None]
    lut = np.zeros(max(int(reg.max(initial=0)) + 1, max(region_w, default=0) + 1), dtype=np.float64)
    for r, w in region_w.items():
        lut[int(r)] = float(w)
    raw = lut[reg] * valid
    clamped = np.where(raw > 0, np.clip(raw, cfg.clamp_min, cfg.clamp_max), 0.0)
    count = (clamped > 0).sum(1, keepdims=True)
    mean = clamped.sum(1, keepdims=True) / np.maximum(count, 1)
    scale = np.where((count > 0) & (mean != 1.0), 1.0 / np.maximum(mean, cfg.eps), 1.0)
    weights = clamped * scale
    fallback = (count[:, 0] == 0) & (n > 0)
    if fallback_uniform:
        weights = np.where(fallback[:, None] & valid, 1.0, weights)
    return (torch.from_numpy(weights.astype(np.float32)).to(device), torch.from_numpy(fallback).to(device))
