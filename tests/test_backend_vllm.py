"""vLLM backend request building, tested with vLLM absent (it does not install on CPU machines)."""

from __future__ import annotations

import importlib.util
import json

import pytest

from harness.backends import make_backend
from harness.backends.base import GenParams
from harness.backends.vllm import llm_kwargs, resolve_adapter, sampling_kwargs, template_kwargs
from harness.records import Prompt
from harness.types import UserError


def test_sampling_greedy_and_sampled():
    assert sampling_kwargs(GenParams(max_new_tokens=7)) == {"max_tokens": 7, "temperature": 0.0, "seed": 0, "n": 1}
    kw = sampling_kwargs(GenParams(max_new_tokens=7, temperature=0.6, top_p=0.95, seed=3, stop=["</s>"]))
    assert kw == {"max_tokens": 7, "temperature": 0.6, "seed": 3, "n": 1, "top_p": 0.95, "stop": ["</s>"]}


def test_llm_kwargs_tensor_parallel_and_lora_rank():
    kw = llm_kwargs("org/m", tensor_parallel_size=4, dtype="bfloat16", max_model_len=8192)
    assert kw["tensor_parallel_size"] == 4 and kw["dtype"] == "bfloat16" and kw["max_model_len"] == 8192
    assert kw["enable_prefix_caching"] and "enable_lora" not in kw
    assert llm_kwargs("m", lora_rank=2)["max_lora_rank"] == 8
    assert llm_kwargs("m", lora_rank=24)["max_lora_rank"] == 32
    assert llm_kwargs("m", lora_rank=64)["enable_lora"] is True


def test_template_kwargs_pass_tools_only_when_set():
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    assert template_kwargs(Prompt(messages=[])) == {"tokenize": False, "add_generation_prompt": True}
    assert template_kwargs(Prompt(messages=[], tools=tools))["tools"] == tools


def test_resolve_adapter(tmp_path):
    assert resolve_adapter("org/m", None) == ("org/m", None, 0)
    ad = tmp_path / "ad"
    ad.mkdir()
    (ad / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "org/base", "r": 16}))
    assert resolve_adapter(str(ad), None) == ("org/base", str(ad), 16)  # adapter dir as --model
    assert resolve_adapter("org/other", str(ad)) == ("org/other", str(ad), 16)  # explicit --adapter wins
    with pytest.raises(UserError, match="no adapter_config"):
        resolve_adapter("org/m", str(tmp_path))


def test_missing_vllm_is_a_clear_user_error():
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here; this test checks the message shown when it is absent")
    with pytest.raises(UserError, match=r"pip install -e '\.\[vllm\]'"):
        make_backend("vllm", model=None)
