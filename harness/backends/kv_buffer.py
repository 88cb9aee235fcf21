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
        self._k, self._v = self._k[indices], self._v[indices]
        self._views()

    def crop(self, tokens_to_remove: int) -> None:
        self._n = max(0, self._n - abs(tokens_to_remove))
        self._views()


def _grow(buf, extra: int):
    import torch

    b, h, t, d = buf.shape
    return torch.cat([buf, buf.new_zeros((b, h, extra, d))], dim=-2)


def _drop_columns(cache: Any, n: int) -> Any:
    """The cache without its first `n` positions (views; the copy happens in merge_chunks)."""
    for layer in cache.layers:
        layer.keys, layer.values = layer.keys[:, :, n:], layer.values[:, :, n:]
    return cache


def merge_chunks(chunks: list[tuple[Any, Any]], plen: int, extra: int,
                 keep_prefix: bool = True) -> tuple[DynamicCache, Any]:
    """Stack prefilled chunks (cache, 2D mask) into one decode batch with room for `extra` tokens.

    Chunk rows are `[prefix][pads][suffix]`; a shorter chunk gets more pads
    after the prefix (zeros, masked out), so every row ends at the same column
    and keeps its own positions. `keep_prefix=False` leaves the `plen` prefix
    columns out of the buffers and the mask: attention then reads the prefix
    from its one batch-1 copy (shared_prefix.py).
    """
    import torch

    if not keep_prefix:
        chunks = [(_drop_columns(cache, plen), m[:, plen:]) for cache, m in chunks]
        plen = 0
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
