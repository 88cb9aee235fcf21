"""HF backend on a tiny random model: batching must not change greedy outputs."""

from __future__ import annotations

import pytest

from harness.backends.base import GenParams
from harness.backends.hf import HFBackend
from harness.backends.hf_load import resolve_model
from harness.records import Prompt
from harness.types import UserError

PROMPTS = [
    Prompt(messages=[{"role": "user", "content": "hi"}]),
    Prompt(messages=[{"role": "system", "content": "You call tools."},
                     {"role": "user", "content": "Find the area of a triangle with base 10 and height 5, please."}]),
    Prompt(messages=[{"role": "user", "content": "a much longer prompt " * 12}]),
]


def test_batched_greedy_equals_one_at_a_time(tiny_model_dir):
    params = GenParams(max_new_tokens=12)
    batched = HFBackend(str(tiny_model_dir), device="cpu", batch_size=3).generate(PROMPTS, params)
    single = HFBackend(str(tiny_model_dir), device="cpu", batch_size=1)
    one = [single.generate([p], params)[0] for p in PROMPTS]
    assert [c.text for c in batched] == [c.text for c in one]
    assert all(c.completion_tokens <= 12 for c in batched)
    assert batched[2].prompt_tokens > batched[0].prompt_tokens  # order restored after length sorting


def test_sampling_is_seeded(tiny_model_dir):
    b = HFBackend(str(tiny_model_dir), device="cpu", batch_size=2)
    p = GenParams(max_new_tokens=8, temperature=1.0, seed=3)
    assert [c.text for c in b.generate(PROMPTS, p)] == [c.text for c in b.generate(PROMPTS, p)]


def test_missing_model_path_is_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        resolve_model(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="not a Hugging Face checkpoint"):
        resolve_model(str(tmp_path / "empty"))


def test_lora_adapter_dir_loads_base_plus_adapter(tiny_model_dir, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    peft_model = get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    adapter = tmp_path / "adapter"
    peft_model.save_pretrained(adapter)
    import json

    cfg = json.loads((adapter / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = str(tiny_model_dir)
    (adapter / "adapter_config.json").write_text(json.dumps(cfg))
    merged = HFBackend(str(adapter), device="cpu")
    plain = HFBackend(str(tiny_model_dir), device="cpu")
    assert merged.info()["adapter"] == str(adapter)
    params = GenParams(max_new_tokens=6)
    # A non-zero random adapter changes the logits; generation must reflect it somewhere.
    import torch

    ids = plain.tokenizer("hello world", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert not torch.allclose(merged.model(ids).logits, plain.model(ids).logits)
    assert len(merged.generate(PROMPTS[:1], params)) == 1


def test_provenance_names_the_weights_and_the_chat_template(tiny_model_dir):
    from harness.backends.hf import HFBackend

    backend = HFBackend(str(tiny_model_dir), device="cpu", dtype="float32")
    p = backend.provenance()
    assert p["model_path"] == str(tiny_model_dir)
    assert [w["file"] for w in p["weights"]] == ["model.safetensors"] and len(p["weights"][0]["sha256"]) == 16
    assert len(p["chat_template_hash"]) == 16 and p["tokenizer"].endswith(str(tiny_model_dir))
    assert p == HFBackend(str(tiny_model_dir), device="cpu", dtype="float32").provenance()  # stable across loads
