"""oneDNN linear layers (hf backend, fp32 on CPU): the same model to fp32 precision, so the same greedy texts."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from harness.backends.base import GenParams  # noqa: E402
from harness.backends.hf import HFBackend  # noqa: E402
from tests.test_hf_prefix_cache import QUESTIONS, bfcl_like  # noqa: E402

if not torch.backends.mkldnn.is_available():  # pragma: no cover - torch CPU wheels ship oneDNN
    pytest.skip("this torch build has no oneDNN (mkldnn); the hf backend keeps MKL there", allow_module_level=True)


def test_convert_replaces_every_linear_and_keeps_the_logits(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    from harness.backends.onednn import convert

    ref = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    linears = sum(isinstance(m, torch.nn.Linear) for m in model.modules())
    assert convert(model) == linears > 0
    assert not any(isinstance(m, torch.nn.Linear) for m in model.modules())
    ids = torch.randint(0, model.config.vocab_size, (3, 11), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        want, got = ref(input_ids=ids).logits, model(input_ids=ids).logits
    assert got.shape == want.shape and got.dtype == torch.float32
    assert torch.allclose(got, want, atol=1e-4, rtol=1e-4)
    # the tied output layer reads the embedding's weight: one copy of the vocabulary matrix, not two
    assert model.config.tie_word_embeddings
    assert not model.lm_head.packed_weight.is_mkldnn
    assert model.lm_head.packed_weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()


def test_an_untied_output_layer_is_packed_like_the_others():
    from transformers import AutoModelForCausalLM, LlamaConfig

    from harness.backends.onednn import convert

    cfg = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=1, num_attention_heads=2,
                      tie_word_embeddings=False)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg).eval()
    head = model.lm_head.weight.detach().clone()
    convert(model)
    assert model.lm_head.packed_weight.is_mkldnn  # its own packed copy
    x = torch.randn(3, 32)
    assert torch.allclose(model.lm_head(x), x @ head.T, atol=1e-5)


def test_default_cpu_fp32_backend_uses_it_and_matches_one_at_a_time_generate(tiny_model_dir):
    params = GenParams(max_new_tokens=12)
    prompts = bfcl_like(QUESTIONS)
    fast = HFBackend(str(tiny_model_dir), device="cpu")
    assert fast.onednn and fast.info()["onednn"] and fast.info()["batch_size"] == "auto"
    reference = HFBackend(str(tiny_model_dir), device="cpu", batch_size=1, prefix_cache=False, onednn=False)
    assert not reference.onednn
    assert [c.text for c in fast.generate(prompts, params)] == [c.text for c in reference.generate(prompts, params)]


def test_not_applied_outside_cpu_fp32(tiny_model_dir):
    assert not HFBackend(str(tiny_model_dir), device="cpu", dtype="bfloat16").onednn
    assert not HFBackend(str(tiny_model_dir), device="cpu", onednn=False).onednn
