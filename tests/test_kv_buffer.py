"""The decode KV buffer: one allocation for every layer, rows dropped in place."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def test_one_block_for_all_layers_and_compaction_in_place():
    from transformers import LlamaConfig

    from harness.backends import kv_buffer

    cfg = LlamaConfig(vocab_size=10, hidden_size=16, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2)
    cache = kv_buffer.allocate(cfg, rows=4, capacity=6, dtype=torch.float32, device="cpu")
    storage = {layer._k.untyped_storage().data_ptr() for layer in cache.layers}
    storage |= {layer._v.untyped_storage().data_ptr() for layer in cache.layers}
    assert len(storage) == 1  # K and V of every layer are views of one block
    for i, layer in enumerate(cache.layers):
        k = torch.arange(4.0)[:, None, None, None].expand(4, 2, 2, 4) + 10 * i
        layer.update(k, -k)
    before = cache.layers[1]._k.data_ptr()
    cache.batch_select_indices(torch.tensor([1, 3]))
    for i, layer in enumerate(cache.layers):
        assert layer.keys.shape == (2, 2, 2, 4) and layer.get_seq_length() == 2
        assert layer.keys[:, 0, 0, 0].tolist() == [1 + 10 * i, 3 + 10 * i]
        assert torch.equal(layer.values, -layer.keys)
    assert cache.layers[1]._k.data_ptr() == before  # the kept rows moved to the front of the same buffer
    cache.layers[0].update(torch.ones(2, 2, 1, 4), torch.ones(2, 2, 1, 4))  # and decoding goes on after it
    assert cache.layers[0].keys.shape == (2, 2, 3, 4)
