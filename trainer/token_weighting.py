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
