"""The hf backend's decode loop: pick a token per row, drop finished rows (cache rows too), step the model.

Separate from hf.py so the loop reads on its own; the backend prefills (hf_prefill.py) and calls it with the
forward step it chose (lean_forward.py).
"""

from __future__ import annotations

from typing import Any

from harness.backends import hf_sampling
from harness.backends.base import GenParams
from harness.backends.lean_forward import Step

COMPACT_AT = 0.25  # share of finished rows that triggers dropping them (0: drop each row as it finishes)


def decode_loop(step: Step, cache: Any, mask: Any, pos: Any, logits: Any, alive: list[int], params: GenParams,
                eos_ids: set[int], stats: dict[str, Any], compact_at: float = COMPACT_AT) -> dict[int, list[int]]:
    """Generated token ids per row index. `step`: the forward (lean_forward.py); `mask`/`pos`: the rows' 2D
    mask and next positions after prefill; `logits`: their next-token logits.

    A finished row stays in the batch (its tokens are ignored) until finished rows make up `compact_at` of
    it; then the cache drops them all in one copy. Dropping each row as it ends copied the whole cache once
    per finishing row; a finished row's compute is cheap beside that, and no row reads another's tokens."""
    import torch

    device = logits.device
    gens: dict[int, list[int]] = {i: [] for i in alive}
    done: set[int] = set()
    rngs = None
    if params.temperature > 0:  # one generator per row: sampling does not depend on the batch layout
        rngs = {i: torch.Generator(device=device).manual_seed(params.seed * 1_000_003 + i) for i in alive}
    for n in range(params.max_new_tokens):
        tok = hf_sampling.pick(logits, params, [rngs[r] for r in alive] if rngs else None)
        for r, t in zip(alive, tok.tolist(), strict=True):
            if r not in done:
                gens[r].append(t)
                if t in eos_ids:
                    done.add(r)
        live = [j for j, r in enumerate(alive) if r not in done]
        if not live or n == params.max_new_tokens - 1:
            break
        if len(alive) - len(live) > compact_at * len(alive):
            sel = torch.tensor(live, device=device)
            cache.batch_select_indices(sel)
            mask, pos, tok = mask[sel], pos[sel], tok[sel]
            alive = [alive[j] for j in live]
            stats["compactions"] += 1
        mask = torch.cat([mask, mask.new_ones((len(alive), 1))], dim=1)
        logits = step(tok[:, None], pos[:, None], cache, mask)
        pos = pos + 1
        stats["decode_steps"] += 1
        stats["decode_rows"] += len(alive)
    return gens
