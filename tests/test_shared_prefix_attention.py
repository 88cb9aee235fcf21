"""Cascade attention over a once-stored shared prefix equals ordinary attention over each row's full sequence."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def model():
    from transformers import AutoModelForCausalLM, LlamaConfig

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=100, hidden_size=96, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=256)  # 3 heads per KV head
    return AutoModelForCausalLM.from_config(cfg).eval()


def test_prefill_and_decode_logits_equal_full_sequence_attention(model):
    from transformers import DynamicCache

    from harness.backends.prefix_cache import layout_batch
    from harness.backends.shared_prefix import MASK_KWARG, PREFIX_KWARG, shared_prefix_attention

    g = torch.Generator().manual_seed(1)
    prefix = torch.randint(0, 100, (12,), generator=g).tolist()
    suffixes = [torch.randint(0, 100, (n,), generator=g).tolist() for n in (5, 2, 7)]
    with torch.inference_mode():
        want = [model(input_ids=torch.tensor([prefix + s])).logits[0, -1] for s in suffixes]
        anchor = DynamicCache(config=model.config)
        model(input_ids=torch.tensor([prefix]), cache=anchor, use_cache=True)
        kv = [(layer.keys, layer.values) for layer in anchor.layers]
        lay = layout_batch(suffixes, len(prefix), 0)
        mask = torch.tensor(lay.attention_mask)[:, len(prefix):]
        cache = DynamicCache(config=model.config)
        with shared_prefix_attention(model):
            got = model(input_ids=torch.tensor(lay.input_ids), position_ids=torch.tensor(lay.position_ids),
                        cache=cache, use_cache=True, **{PREFIX_KWARG: kv, MASK_KWARG: mask}).logits[:, -1]
            assert model.config._attn_implementation != "sdpa"
            nxt = got.argmax(-1)
            mask = torch.cat([mask, mask.new_ones((3, 1))], dim=1)
            step = model(input_ids=nxt[:, None], position_ids=torch.tensor(lay.next_positions)[:, None], cache=cache,
                         use_cache=True, **{PREFIX_KWARG: kv, MASK_KWARG: mask}).logits[:, -1]
        assert model.config._attn_implementation == "sdpa"  # restored after the block
        for i, s in enumerate(suffixes):
            assert torch.allclose(got[i], want[i], atol=1e-5)
            again = model(input_ids=torch.tensor([prefix + s + [int(nxt[i])]])).logits[0, -1]
            assert torch.allclose(step[i], again, atol=1e-5)
        assert cache.layers[0].keys.shape[2] == 8  # the rows' cache holds their own tokens only, not the prefix


def test_without_a_prefix_it_is_causal_attention_over_the_rows_tokens(model):
    from transformers import DynamicCache

    from harness.backends.shared_prefix import MASK_KWARG, shared_prefix_attention

    ids = torch.tensor([[0, 5, 6, 7], [1, 2, 3, 4]])
    mask = torch.tensor([[0, 1, 1, 1], [1, 1, 1, 1]])  # row 0 has one pad on the left
    with torch.inference_mode():
        want = [model(input_ids=torch.tensor([[5, 6, 7]])).logits[0, -1], model(input_ids=ids[1:]).logits[0, -1]]
        with shared_prefix_attention(model):
            got = model(input_ids=ids, position_ids=torch.tensor([[0, 0, 1, 2], [0, 1, 2, 3]]),
                        cache=DynamicCache(config=model.config), use_cache=True, **{MASK_KWARG: mask}).logits[:, -1]
    assert torch.allclose(got[0], want[0], atol=1e-5) and torch.allclose(got[1], want[1], atol=1e-5)
    assert torch.isfinite(got).all()


def test_cpu_decode_kernel_equals_the_matmul_form(monkeypatch):
    """One new token per row: the fused CPU kernel path and the device-neutral matmul path agree (pads masked)."""
    from harness.backends import shared_prefix as sp

    g = torch.Generator().manual_seed(3)
    b, kvh, groups, d, s, p = 5, 2, 3, 8, 9, 6
    query = torch.randn(b, kvh * groups, 1, d, generator=g)
    key, value = torch.randn(b, kvh, s, d, generator=g), torch.randn(b, kvh, s, d, generator=g)
    prefix = [(torch.randn(1, kvh, p, d, generator=g), torch.randn(1, kvh, p, d, generator=g))]
    mask = torch.ones(b, s, dtype=torch.long)
    for row in range(b):
        mask[row, :row] = 0  # row r has r pads on the left

    class Layer:
        layer_idx = 0

    kwargs = {sp.PREFIX_KWARG: prefix, sp.MASK_KWARG: mask}
    fused = sp.attention(Layer(), query, key, value, None, d**-0.5, **kwargs)[0]
    monkeypatch.setattr(sp, "FUSED_DECODE_DEVICES", ())
    plain = sp.attention(Layer(), query, key, value, None, d**-0.5, **kwargs)[0]
    assert fused.shape == plain.shape == (b, 1, kvh * groups, d)
    assert torch.allclose(fused, plain, atol=1e-5)
    assert not torch.allclose(fused[1:], sp.attention(Layer(), query, key, value, None, d**-0.5,
                                                      **{sp.PREFIX_KWARG: prefix})[0][1:], atol=1e-3)  # pads matter
