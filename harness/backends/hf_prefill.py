"""The hf backend's prefill: the prompts' suffixes after a shared prefix, chunk by chunk, into a decode cache.

Two forms, the same numbers for every row:
- `prefill_in_place` (the default, the prefix kept once): the decode buffer of the whole group is allocated
  first and each chunk writes its KV straight into its rows, right-aligned; nothing is merged or copied. A
  chunk is a single row when that row alone exceeds `piece` tokens; such a row is prefilled `piece` tokens at a
  time, each piece attending to the ones before it, so peak memory does not grow with the longest prompt.
- `prefill_copied` (`shared_prefix=False`): one chunk with the prefix broadcast into its own DynamicCache;
  `kv_buffer.merge_chunks` then stacks the chunks for decoding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.backends.lean_forward import Step


def prefill_in_place(model: Any, step: Step, chunks: list[list[int]], suffixes: list[list[int]], plen: int,
                     max_new: int, pad_id: int, piece: int, device: Any,
                     after_chunk: Callable[[], None] | None = None) -> tuple[Any, Any, Any, Any]:
    """(cache, 2D suffix mask, next positions, next-token logits) of the rows `chunks` list, in that order. Run
    in inference mode; `step` is a shared-prefix step (lean_forward.py) bound to the prefix's KV; `after_chunk`
    runs after each chunk (the backend hands freed memory back there: chunks differ in shape)."""
    import torch

    from harness.backends import kv_buffer
    from harness.backends.prefix_cache import layout_batch

    rows_total = sum(len(c) for c in chunks)
    width = max(len(suffixes[i]) for c in chunks for i in c)
    cache = kv_buffer.allocate(model.config, rows_total, width + max_new, model.dtype, device)
    mask = torch.zeros((rows_total, width), dtype=torch.long, device=device)
    pos, logits, r = [], [], 0
    for c in chunks:
        lay = layout_batch([suffixes[i] for i in c], plen, pad_id)
        cw, rows = len(lay.input_ids[0]), slice(r, r + len(c))
        mask[rows, width - cw:] = torch.tensor(lay.attention_mask, device=device)[:, plen:]
        ids, positions = torch.tensor(lay.input_ids, device=device), torch.tensor(lay.position_ids, device=device)
        window = kv_buffer.row_window(cache, r, r + len(c), width - cw)
        size = piece if len(c) == 1 else cw
        for a in range(0, cw, size):
            b = min(cw, a + size)
            out = step(ids[:, a:b], positions[:, a:b], window, mask[rows, :width - cw + b])
        logits.append(out)
        pos.append(torch.tensor(lay.next_positions, device=device))
        r += len(c)
        if after_chunk is not None:
            after_chunk()
    kv_buffer.set_filled(cache, width)
    return cache, mask, torch.cat(pos), torch.cat(logits)


def prefill_copied(model: Any, suffixes: list[list[int]], plen: int, kv: Any, pad_id: int,
                   device: Any) -> tuple[Any, Any, Any, Any]:
    """One chunk: right-aligned suffixes after the prefix (copied per row) -> (cache, mask, next pos, logits)."""
    import torch
    from transformers import DynamicCache

    from harness.backends.prefix_cache import layout_batch

    n = len(suffixes)
    lay = layout_batch(suffixes, plen, pad_id)
    mask = torch.tensor(lay.attention_mask, device=device)
    ids, pos = torch.tensor(lay.input_ids, device=device), torch.tensor(lay.position_ids, device=device)
    if kv is not None:
        cache = DynamicCache(ddp_cache_data=[(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1)) for k, v in kv])
    else:
        cache = DynamicCache(config=model.config)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=pos, cache=cache,
                   use_cache=True, logits_to_keep=1).logits[:, -1, :]
    return cache, mask, torch.tensor(lay.next_positions, device=device), logits
