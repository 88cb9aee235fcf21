"""Chat-template options reach the template (`--chat-template-kwargs enable_thinking=false`), and each backend
records a thinking model's reasoning and its token count, on the real Qwen tokenizer.

The Qwen tokenizer of tests/qwen_tokenizer.py carries a simplified ChatML template that reads no options, so
the options are also tested on a template with Qwen3's generation-prompt tail, which reads `enable_thinking`.
"""

from __future__ import annotations

import copy
import types

import pytest

from harness.backends.base import GenParams, template_kwargs
from harness.records import Prompt
from tests.qwen_tokenizer import qwen_tokenizer
from tests.test_reasoning import QWEN3, THOUGHT

# Qwen3's chat template ends its generation prompt like this (an empty thought when thinking is off)
QWEN3_TEMPLATE = (
    "{%- for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{ '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{%- endif %}"
)
PROMPT = Prompt(messages=[{"role": "system", "content": "You call tools."},
                          {"role": "user", "content": "Area of a triangle, base 10, height 5?"}])


def thinking_tokenizer():
    tok = copy.deepcopy(qwen_tokenizer())
    tok.chat_template = QWEN3_TEMPLATE
    return tok


def test_simplified_chatml_template_ignores_the_option():
    tok = qwen_tokenizer()
    plain = tok.apply_chat_template(PROMPT.messages, **template_kwargs(PROMPT))
    assert tok.apply_chat_template(PROMPT.messages, **template_kwargs(PROMPT, {"enable_thinking": False})) == plain
    assert plain.endswith("<|im_start|>assistant\n")


def test_enable_thinking_reaches_a_template_that_reads_it():
    tok = thinking_tokenizer()
    off = tok.apply_chat_template(PROMPT.messages, **template_kwargs(PROMPT, {"enable_thinking": False}))
    on = tok.apply_chat_template(PROMPT.messages, **template_kwargs(PROMPT, {"enable_thinking": True}))
    assert off.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert on.endswith("<|im_start|>assistant\n") and on == tok.apply_chat_template(PROMPT.messages,
                                                                                     **template_kwargs(PROMPT))
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
    kw = template_kwargs(Prompt(messages=[], tools=tools), {"enable_thinking": False})
    assert kw == {"tokenize": False, "add_generation_prompt": True, "tools": tools, "enable_thinking": False}


@pytest.fixture(scope="module")
def qwen_tiny(tmp_path_factory):
    """A 1-layer random Llama with the real Qwen vocabulary and the Qwen3-style template, saved to disk."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    tok = thinking_tokenizer()
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=1024,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, tie_word_embeddings=True)
    out = tmp_path_factory.mktemp("qwen_tiny")
    AutoModelForCausalLM.from_config(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def test_hf_backend_applies_template_options_and_splits_its_output(qwen_tiny):
    from harness.backends.hf import HFBackend

    off = HFBackend(str(qwen_tiny), device="cpu", chat_template_kwargs={"enable_thinking": False})
    on = HFBackend(str(qwen_tiny), device="cpu")
    tok = off.tokenizer
    assert tok.decode(off.encode([PROMPT])[0]).endswith("assistant\n<think>\n\n</think>\n\n")
    assert tok.decode(on.encode([PROMPT])[0]).endswith("assistant\n")
    assert off.info()["chat_template_kwargs"] == {"enable_thinking": False} and "chat_template_kwargs" not in on.info()
    assert len(off.generate([PROMPT], GenParams(max_new_tokens=3))) == 1  # the whole path runs with the options

    # what the decode loop hands back: a Qwen3 thinking completion, then end of turn and junk after it
    toks = tok(QWEN3["fc"], add_special_tokens=False)["input_ids"]
    c = off.finish([*toks, tok.eos_token_id, 7, 7], GenParams(stop=["</tool_call>"]), 30, 0.5)
    close = toks.index(tok.convert_tokens_to_ids("</think>"))
    assert c.completion_tokens == len(toks) and c.reasoning_tokens == close + 1
    assert c.reasoning == THOUGHT and c.text == QWEN3["fc"][: QWEN3["fc"].rindex("</tool_call>")]
    assert "</tool_call>" in c.reasoning  # the stop string inside the thought did not cut it
    plain = off.finish(tok("[f(a=1)]", add_special_tokens=False)["input_ids"], GenParams(), 30, 0.5)
    assert plain.reasoning is None and plain.reasoning_tokens is None


def test_vllm_output_gets_reasoning_and_its_token_count():
    from harness.backends.vllm import VLLMBackend

    backend = VLLMBackend.__new__(VLLMBackend)  # no engine: only the output handling is under test
    backend.tokenizer = qwen_tokenizer()
    ids = backend.tokenizer(QWEN3["prompting"], add_special_tokens=False)["input_ids"]
    c = backend._completion(types.SimpleNamespace(text=QWEN3["prompting"], token_ids=ids), 12, 0.1)
    assert c.reasoning == THOUGHT and c.reasoning_tokens == ids.index(151668) + 1 and c.completion_tokens == len(ids)
    assert c.text == QWEN3["prompting"] and c.prompt_tokens == 12
