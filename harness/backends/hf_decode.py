"""The hf backend's decode loop: pick a token per row, drop finished rows (cache rows too), step the model.

Separate from hf.py so the loop reads on its own; the backend prefills, merges the chunks' caches and calls it.
"""

from __future__ import annotations

from typing import Any

from harness.backends import hf_sampling
from harness.backends.base import GenParams


def decode_loop(model: Any, cache: Any, mask: Any, pos: Any, logits: Any, alive: list[int], prefix: Any,
                params: GenParams, eos_ids: set[int], stats: dict[str, Any]) -> dict[int, list[int]]:
    """Generated token ids per row index. `mask`/`pos`: the rows' 2D mask and next positions after prefill;
    `logits`: their next-token logits; `prefix`: the shared prefix's KV when attention reads it once
    (shared_prefix.py; the model must run under `shared_prefix_attention`), else None."""
    import torch

    from harness.backends.shared_prefix import MASK_KWARG, PREFIX_KWARG

    device = logits.device
    gens: dict[int, list[int]] = {i: [] for i in alive}
    rngs = None
    if params.temperature > 0:  # one generator per row: sampling does not depend on the batch layout
        rngs = {i: torch.Generator(device=device).manual_seed(params.seed * 1_000_003 + i) for i in alive}
    for step in range(params.max_new_tokens):
        tok = hf_sampling.pick(logits, params, [rngs[r] for r in alive] if rngs else None)
        keep = []
        for j, (r, t) in enumerate(zip(alive, tok.tolist(), strict=True)):
            gens[r].append(t)
            if t not in eos_ids:
                keep.append(j)
        if not keep or step == params.max_new_tokens - 1:
            break
        if len(keep) < len(alive):
            sel = torch.tensor(keep, device=device)
            cache.batch_select_indices(sel)
            mask, pos, tok = mask[sel], pos[sel], tok[sel]
            alive = [alive[j] for j in keep]
        mask = torch.cat([mask, mask.new_ones((len(alive), 1))], dim=1)
        extra = {PREFIX_KWARG: prefix, MASK_KWARG: mask} if prefix is not None else {"attention_mask": mask}
        logits = model(input_ids=tok[:, None], position_ids=pos[:, None], cache=cache, use_cache=True,
                       **extra).logits[:, -1, :]
        pos = pos + 1
        stats["decode_steps"] += 1
    return gens
