"""A KV cache with spare capacity, so one decode step writes one token instead of copying the whole cache.

transformers' DynamicLayer appends with `torch.cat`: every step copies the
full cache of every layer (for 16 rows x 550 tokens of SmolLM2, 400 MB a
step). Here each layer keeps a preallocated buffer and hands attention a view
of its filled part. Built from a prefix's (k, v) pairs, already batched.
"""

from __future__ import annotations

from typing import Any

from transformers.cache_utils import DynamicCache, DynamicLayer


class BufferedLayer(DynamicLayer):
    def __init__(self, k_buf, v_buf, filled: int) -> None:
        super().__init__()
        self._k, self._v, self._n = k_buf, v_buf, filled
        self.device, self.is_initialized = k_buf.device, True
        self._views()

    def _views(self) -> None:
        self.keys = self._k[:, :, : self._n]
        self.values = self._v[:, :, : self._n]

    def update(self, key_states, value_states, *args: Any, **kwargs: Any):
        s = key_states.shape[-2]
        if self._n + s > self._k.shape[-2]:  # out of room: grow by doubling (rare)
            grow = max(s, self._k.shape[-2])
            self._k = _grow(self._k, grow)
            self._v = _grow(self._v, grow)
        self._k[:, :, self._n: self._n + s] = key_states
        self._v[:, :, self._n: self._n + s] = value_states
        self._n += s
        self._views()
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self._n

    def batch_select_indices(self, indices) -> None:
        """Keep rows `indices` (ascending), moved to the front of the same buffers: no second cache is built
        (one layer's selected rows at a time are the only copy)."""
        n = len(indices)
        self._k[:n] = self._k[indices]
        self._v[:n] = self._v[indices]
        self._k, self._v = self._k[:n], self._v[:n]
        self._views()

    def crop(self, tokens_to_remove: int) -> None:
        self._n = max(0, self._n - abs(tokens_to_remove))
        self._views()


def allocate(config: Any, rows: int, capacity: int, dtype: Any, device: Any) -> DynamicCache:
    """An empty cache of `rows` rows with room for `capacity` tokens each. Every layer's K and V are views of ONE
    allocation: on CPU a block that large is mapped and unmapped as a whole, so caches of changing sizes (one per
    turn of a multi-turn run) never leave holes in the heap that the next, larger one cannot reuse."""
    import torch

    cfg = config.get_text_config(decoder=True)
    heads = getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    block = torch.zeros((cfg.num_hidden_layers, 2, rows, heads, capacity, head_dim), dtype=dtype, device=device)
    cache = DynamicCache()
    cache.layers = [BufferedLayer(block[i, 0], block[i, 1], 0) for i in range(cfg.num_hidden_layers)]
    cache.layer_class_to_replicate = None
    return cache


def row_window(cache: DynamicCache, start: int, stop: int, filled: int) -> DynamicCache:
    """Rows `start:stop` of `cache` as a cache of their own that writes into the same buffers (views), with
    `filled` columns already taken: a prefill chunk run on it lands in place, right-aligned, with no copy."""
    window = DynamicCache()
    window.layers = [BufferedLayer(layer._k[start:stop], layer._v[start:stop], filled) for layer in cache.layers]
    window.layer_class_to_replicate = None
    return window


def set_filled(cache: DynamicCache, filled: int) -> None:
    """Mark `filled` columns of every row as written (after the chunks were prefilled through row windows)."""
    for layer in cache.layers:
        layer._n = filled
        layer._views()


def _grow(buf, extra: int):
    import torch

    b, h, t, d = buf.shape
    return torch.cat([buf, buf.new_zeros((b, h, extra, d))], dim=-2)


def merge_chunks(chunks: list[tuple[Any, Any]], plen: int, extra: int) -> tuple[DynamicCache, Any]:
    """Stack prefilled chunks (cache, 2D mask) into one decode batch with room for `extra` tokens.

    Chunk rows are `[prefix][pads][suffix]`; a shorter chunk gets more pads
    after the prefix (zeros, masked out), so every row ends at the same column
    and keeps its own positions. (With the prefix kept once, the backend skips
    this copy: `allocate` + `row_window` prefill each chunk in place.)
    """
    import torch

    width = max(int(m.shape[1]) for _, m in chunks)
    rows = sum(int(m.shape[0]) for _, m in chunks)
    first = chunks[0][0].layers
    layers = []
    for li in range(len(first)):
        proto = first[li].keys
        _, h, _, d = proto.shape
        kb = proto.new_zeros((rows, h, width + extra, d))
        vb = proto.new_zeros((rows, h, width + extra, d))
        r = 0
        for cache, _m in chunks:
            k, v = cache.layers[li].keys, cache.layers[li].values
            b, w = k.shape[0], k.shape[2]
            kb[r:r + b, :, :plen], vb[r:r + b, :, :plen] = k[:, :, :plen], v[:, :, :plen]
            kb[r:r + b, :, width - (w - plen):width] = k[:, :, plen:]
            vb[r:r + b, :, width - (w - plen):width] = v[:, :, plen:]
            cache.layers[li].keys = cache.layers[li].values = None  # free as we go: peak = merged + one layer
            r += b
        layers.append(BufferedLayer(kb, vb, width))
    masks = []
    for _, m in chunks:
        pad = m.new_zeros((m.shape[0], width - m.shape[1]))
        masks.append(torch.cat([m[:, :plen], pad, m[:, plen:]], dim=1))
    for cache, _ in chunks:  # free the chunk caches now, not after decoding
        cache.layers = []
    cache = DynamicCache()
    cache.layers = layers
    cache.layer_class_to_replicate = None
    return cache, torch.cat(masks)
