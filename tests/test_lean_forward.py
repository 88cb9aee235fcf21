"""The lean forward step gives the same bits as transformers' modules, on the models it accepts, and says why not
on the others."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from harness.backends import onednn  # noqa: E402
from harness.backends.lean_forward import LeanForward, lean_unsupported, model_step  # noqa: E402

needs_onednn = pytest.mark.skipif(not torch.backends.mkldnn.is_available(),
                                  reason="this torch build has no oneDNN (mkldnn): the lean step runs on its linears")


def _tiny(kind: str):
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    torch.manual_seed(0)
    common = dict(vocab_size=120, hidden_size=96, intermediate_size=160, num_hidden_layers=3, num_attention_heads=6,
                  num_key_value_heads=2, max_position_embeddings=512)
    if kind == "llama":
        cfg = LlamaConfig(**common, tie_word_embeddings=True)
    else:  # q/k/v biases, untied head
        cfg = Qwen2Config(**common, tie_word_embeddings=False)
    model = AutoModelForCausalLM.from_config(cfg).eval()
    with torch.no_grad():  # random biases, so a dropped bias would show
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.2)
    onednn.convert(model)
    return model


def _prefilled(model, step, prefix_kv, suffixes, plen, max_new):
    from harness.backends.hf_prefill import prefill_in_place
    from harness.backends.shared_prefix import shared_prefix_attention

    with torch.inference_mode(), shared_prefix_attention(model):
        return prefill_in_place(model, step, [[0, 1], [2]], suffixes, plen, max_new, 0, 4, "cpu")


@needs_onednn
@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_lean_step_equals_transformers_bit_for_bit(kind):
    from transformers import DynamicCache

    from harness.backends.shared_prefix import shared_prefix_attention

    model = _tiny(kind)
    assert lean_unsupported(model) is None
    g = torch.Generator().manual_seed(2)
    prefix = torch.randint(1, 120, (9,), generator=g).tolist()
    suffixes = [torch.randint(1, 120, (n,), generator=g).tolist() for n in (5, 2, 7)]  # pads; row 2 in pieces of 4
    with torch.inference_mode():
        anchor = DynamicCache(config=model.config)
        model(input_ids=torch.tensor([prefix]), cache=anchor, use_cache=True)
    kv = [(layer.keys, layer.values) for layer in anchor.layers]
    lean = LeanForward(model)
    runs = []
    for step in (model_step(model, kv, shared=True), lean.step(kv)):
        cache, mask, pos, logits = _prefilled(model, step, kv, suffixes, len(prefix), 4)
        out = [logits]
        with torch.inference_mode(), shared_prefix_attention(model):
            tok = logits.argmax(-1)
            for _ in range(4):
                mask = torch.cat([mask, mask.new_ones((3, 1))], dim=1)
                out.append(step(tok[:, None], pos[:, None], cache, mask))
                tok, pos = out[-1].argmax(-1), pos + 1
        runs.append(out)
    for want, got in zip(*runs, strict=True):
        assert torch.equal(want, got)
    # and both are the full-sequence forward, to the usual tolerance
    with torch.inference_mode():
        full = model(input_ids=torch.tensor([prefix + suffixes[1]])).logits[0, -1]
    assert torch.allclose(runs[1][0][1], full, atol=1e-4)


def test_models_the_lean_step_cannot_run_are_named():
    from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig

    plain = AutoModelForCausalLM.from_config(LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64,
                                                         num_hidden_layers=1, num_attention_heads=2))
    assert lean_unsupported(plain) == "its linear layers are not oneDNN ones"
    gpt2 = AutoModelForCausalLM.from_config(GPT2Config(vocab_size=50, n_embd=32, n_layer=1, n_head=2))
    assert "GPT2LMHeadModel is not one of" in lean_unsupported(gpt2)
    with pytest.raises(ValueError, match="lean forward: GPT2LMHeadModel"):
        LeanForward(gpt2)
