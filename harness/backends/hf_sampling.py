"""Sampling settings of the hf backend: its own decode loop's token choice, and what transformers' `generate` gets.

The fast path picks tokens itself (greedy, or temperature + top-p with one
seeded generator per row). Options it does not implement (`--gen-kwargs`
top_k, min_p, repetition_penalty, no_repeat_ngram_size) send the batch to the
plain path, where transformers applies them. There every processor is set
explicitly, neutral unless asked for, so a checkpoint's generation_config.json
(Qwen2.5 ships repetition_penalty 1.05, top_k 20) cannot change a run unseen.
"""

from __future__ import annotations

from typing import Any

from harness.backends.base import GenParams

HF_GEN_KEYS = frozenset({"top_k", "min_p", "repetition_penalty", "no_repeat_ngram_size"})
NEUTRAL = {"top_k": 0, "min_p": None, "repetition_penalty": 1.0, "no_repeat_ngram_size": 0}
SAMPLING_ONLY = ("top_k", "min_p")  # no effect on a greedy choice


def active_options(params: GenParams) -> dict[str, Any]:
    """The --gen-kwargs options that change this run's tokens (neutral values and greedy-irrelevant ones dropped)."""
    return {k: v for k, v in params.extra.items()
            if k in HF_GEN_KEYS and v != NEUTRAL[k] and not (params.temperature == 0 and k in SAMPLING_ONLY)}


def generate_kwargs(params: GenParams, pad_token_id: int | None) -> dict[str, Any]:
    """Keywords of transformers `generate` for the plain path, every processor explicit."""
    kw: dict[str, Any] = {"max_new_tokens": params.max_new_tokens, "pad_token_id": pad_token_id,
                          "repetition_penalty": 1.0, "no_repeat_ngram_size": 0}
    if params.temperature > 0:
        kw.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0, min_p=None)
    else:
        kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    kw.update(active_options(params))
    return kw


def pick(logits: Any, params: GenParams, rngs: Any) -> Any:
    """The fast path's next tokens: argmax, or a seeded draw per row after temperature and top-p."""
    import torch

    if rngs is None:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / params.temperature, dim=-1)
    if params.top_p < 1.0:
        sorted_p, sorted_i = probs.sort(dim=-1, descending=True)
        drop = sorted_p.cumsum(dim=-1) - sorted_p > params.top_p  # keep the smallest set reaching top_p
        sorted_p = sorted_p.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, sorted_i, sorted_p)
    rows = [torch.multinomial(probs[j], 1, generator=g) for j, g in enumerate(rngs)]
    return torch.cat(rows)
