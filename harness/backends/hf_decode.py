"""The hf backend's decode loop: pick a token per row, drop finished rows (cache rows too), step the model.

Separate from hf.py so the loop reads on its own; the backend prefills, merges the chunks' caches and calls it.
"""

from __future__ import annotations

from typing import Any

from harness.backends import hf_sampling
from harness.backends.base import GenParams

COMPACT_AT = 0.25  # share of finished rows that triggers dropping them (0: drop each row as it finishes)


def decode_loop(model: Any, cache: Any, mask: Any, pos: Any, logits: Any, alive: list[int], prefix: Any,
                params: GenParams, eos_ids: set[int], stats: dict[str, Any],
                compact_at: float = COMPACT_AT) -> dict[int, list[int]]:
    """Generated token ids per row index. `mask`/`pos`: the rows' 2D mask and next positions after prefill;
    `logits`: their next-token logits; `prefix`: the shared prefix's KV when attention reads it once
    (shared_prefix.py; the model must run under `shared_prefix_attention`), else None.

    A finished row stays in the batch (its tokens are ignored) until finished rows make up `compact_at` of
    it; then the cache drops them all in one copy. Dropping each row as it ends copied the whole cache once
    per finishing row; a finished row's compute is cheap beside that, and no row reads another's tokens."""
    import torch

    from harness.backends.shared_prefix import MASK_KWARG, PREFIX_KWARG

    device = logits.device
    gens: dict[int, list[int]] = {i: [] for i in alive}
    done: set[int] = set()
    rngs = None
    if params.temperature > 0:  # one generator per row: sampling does not depend on the batch layout
        rngs = {i: torch.Generator(device=device).manual_seed(params.seed * 1_000_003 + i) for i in alive}
    for step in range(params.max_new_tokens):
        tok = hf_sampling.pick(logits, params, [rngs[r] for r in alive] if rngs else None)
        for r, t in zip(alive, tok.tolist(), strict=True):
            if r not in done:
                gens[r].append(t)
                if t in eos_ids:
                    done.add(r)
        live = [j for j, r in enumerate(alive) if r not in done]
        if not live or step == params.max_new_tokens - 1:
            break
        if len(alive) - len(live) > compact_at * len(alive):
            sel = torch.tensor(live, device=device)
            cache.batch_select_indices(sel)
            mask, pos, tok = mask[sel], pos[sel], tok[sel]
            alive = [alive[j] for j in live]
            stats["compactions"] += 1
        mask = torch.cat([mask, mask.new_ones((len(alive), 1))], dim=1)
        extra = {PREFIX_KWARG: prefix, MASK_KWARG: mask} if prefix is not None else {"attention_mask": mask}
        logits = model(input_ids=tok[:, None], position_ids=pos[:, None], cache=cache, use_cache=True,
                       **extra).logits[:, -1, :]
        pos = pos + 1
        stats["decode_steps"] += 1
        stats["decode_rows"] += len(alive)
    return gens
