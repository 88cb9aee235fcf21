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
    def __init__(self, keys, values, extra: int) -> None:
        super().__init__()
        b, h, t, d = keys.shape
        self._k = keys.new_empty((b, h, t + extra, d))
        self._v = values.new_empty((b, h, t + extra, d))
        self._k[:, :, :t] = keys
        self._v[:, :, :t] = values
        self._n = t
        self.device, self.is_initialized = keys.device, True
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


def buffered_cache(kv: list[tuple[Any, Any]], extra: int) -> DynamicCache:
    """A DynamicCache whose layers start from `kv` (batched (k, v) per layer) with room for `extra` tokens."""
    cache = DynamicCache()
    cache.layers = [BufferedLayer(k, v, extra) for k, v in kv]
    cache.layer_class_to_replicate = None
    return cache
