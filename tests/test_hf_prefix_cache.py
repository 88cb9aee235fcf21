"""Shared-prefix fast path of the HF backend: same greedy outputs as transformers `generate`."""

from __future__ import annotations

import pytest

from harness.backends.base import GenParams
from harness.backends.hf import HFBackend
from harness.backends.prefix_cache import (
    common_prefix_len,
    layout_batch,
    length_batches,
    plan_prefix,
    shareable_len,
)
from harness.records import Prompt

SYSTEM = ("You are an expert in composing functions. You are given a question and a set of possible functions. "
          "Here is a list of functions in JSON format that you can invoke.\n")
QUESTIONS = ["Find the area of a triangle with base 10 and height 5.", "hi",
             "Compute the factorial of 7, then tell me " + "more " * 15, "What is 3+4?", "Weather in Paris today?"]


def bfcl_like(qs, system=SYSTEM):
    return [Prompt(messages=[{"role": "system", "content": system + f'[{{"name": "fn_{i}"}}]'},
                             {"role": "user", "content": q}]) for i, q in enumerate(qs)]


@pytest.fixture(scope="module")
def backends(tiny_model_dir):
    fast = HFBackend(str(tiny_model_dir), device="cpu", batch_size=2)
    plain = HFBackend(str(tiny_model_dir), device="cpu", batch_size=1, prefix_cache=False)
    return fast, plain


def test_fast_path_equals_plain_generate_greedy(backends):
    fast, plain = backends
    params = GenParams(max_new_tokens=10)
    prompts = bfcl_like(QUESTIONS)
    got = fast.generate(prompts, params)
    want = plain.generate(prompts, params)
    assert [c.text for c in got] == [c.text for c in want]
    assert [c.completion_tokens for c in got] == [c.completion_tokens for c in want]
    assert [c.prompt_tokens for c in got] == [c.prompt_tokens for c in want]
    assert fast.stats["prefix_tokens_computed"] > 20  # the shared system prompt was computed once


def test_anchor_is_reused_and_cropped_across_calls(backends):
    fast, plain = backends
    params = GenParams(max_new_tokens=6)
    before = dict(fast.stats)
    first = fast.generate(bfcl_like(QUESTIONS[:2]), params)
    second = fast.generate(bfcl_like(QUESTIONS[2:]), params)
    assert fast.stats["prefix_tokens_reused"] > before["prefix_tokens_reused"]
    # a different system prompt shares only the chat header: the anchor is cropped, outputs still exact
    other = bfcl_like(QUESTIONS[:3], system="Answer briefly and call tools. ")
    third = fast.generate(other, params)
    want = plain.generate(bfcl_like(QUESTIONS), params) + plain.generate(other, params)
    assert [c.text for c in first + second + third] == [c.text for c in want]


def test_single_prompt_and_stop_strings(backends):
    fast, plain = backends
    p = bfcl_like(QUESTIONS[:1])
    params = GenParams(max_new_tokens=8)
    text = plain.generate(p, params)[0].text
    assert fast.generate(p, params)[0].text == text
    if len(text) > 2:
        stop = text[1:3]
        assert fast.generate(p, GenParams(max_new_tokens=8, stop=[stop]))[0].text == text[: text.index(stop)]


def test_sampling_is_seeded_and_independent_of_batching(tiny_model_dir):
    a = HFBackend(str(tiny_model_dir), device="cpu", batch_size=3)
    b = HFBackend(str(tiny_model_dir), device="cpu", batch_size=1)
    prompts = bfcl_like(QUESTIONS[:3])
    p = GenParams(max_new_tokens=6, temperature=1.0, seed=3)
    first = [c.text for c in a.generate(prompts, p)]
    assert first == [c.text for c in a.generate(prompts, p)]
    assert first == [c.text for c in b.generate(prompts, p)]  # per-row generators: batch layout does not matter
    other = [c.text for c in a.generate(prompts, GenParams(max_new_tokens=6, temperature=1.0, seed=4))]
    assert other != first
    nucleus = [c.text for c in a.generate(prompts, GenParams(max_new_tokens=6, temperature=1.0, top_p=1e-6))]
    assert nucleus == [c.text for c in a.generate(prompts, GenParams(max_new_tokens=6))]  # top_p -> 0 is greedy


def test_lora_adapter_on_fast_path(tiny_model_dir, tmp_path):
    import json

    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    peft_model = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj", "o_proj"],
                                                 init_lora_weights=False, lora_alpha=64))
    adapter = tmp_path / "adapter"
    peft_model.save_pretrained(adapter)
    cfg = json.loads((adapter / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = str(tiny_model_dir)
    (adapter / "adapter_config.json").write_text(json.dumps(cfg))
    params = GenParams(max_new_tokens=10)
    prompts = bfcl_like(QUESTIONS[:3])
    fast = HFBackend(str(adapter), device="cpu", batch_size=3).generate(prompts, params)
    plain = HFBackend(str(tiny_model_dir), device="cpu", adapter=str(adapter), prefix_cache=False).generate(prompts,
                                                                                                         params)
    base_out = HFBackend(str(tiny_model_dir), device="cpu").generate(prompts, params)
    assert [c.text for c in fast] == [c.text for c in plain]
    assert [c.text for c in fast] != [c.text for c in base_out]


def test_pure_planning():
    assert common_prefix_len([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix_len([]) == 0 and common_prefix_len([[5, 6]]) == 2
    assert shareable_len([[1, 2], [1, 2, 3]]) == 1  # keep one token to get logits from
    seqs = [[1] * 40 + [2, i] for i in range(4)]
    assert plan_prefix(None, seqs).compute == 41
    assert plan_prefix(None, seqs[:1]).length == 0  # a lone prompt shares nothing
    assert plan_prefix(None, [[1, 2, 3]] * 3, min_len=16).length == 0
    assert plan_prefix([1] * 40, seqs).reuse == 40  # the one missing token per row is cheaper than recomputing
    long = [[1] * 40 + [3] * 60 + [i] for i in range(8)]
    assert plan_prefix([1] * 40, long).compute == 100  # 60 tokens x 8 rows: recompute once instead
    lay = layout_batch([[7, 8, 9], [5]], prefix_len=4, pad_id=0)
    assert lay.input_ids == [[7, 8, 9], [0, 0, 5]]
    assert lay.attention_mask == [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 1]]
    assert lay.position_ids == [[4, 5, 6], [0, 0, 4]] and lay.next_positions == [7, 5]
    assert length_batches([3, 9, 5, 1, 7], 2) == [[1, 4], [2, 0], [3]]
    assert length_batches([10, 10, 10], 8, max_tokens=25) == [[0, 1], [2]]


def test_memory_bounds_set_rows_and_chunks_and_keep_outputs(tiny_model_dir, backends):
    """The KV budget bounds the rows decoding together, `prefill_tokens` the suffix tokens of one prefill chunk
    (the attention scores' memory); neither changes an output."""
    _, plain = backends
    small = HFBackend(str(tiny_model_dir), device="cpu", batch_size=2, kv_budget_mb=1, prefill_tokens=8)
    big = HFBackend(str(tiny_model_dir), device="cpu", batch_size=2, kv_budget_mb=4096, max_decode_rows=8)
    cfg = small.model.config
    per_row = 2 * cfg.num_hidden_layers * cfg.num_key_value_heads * (cfg.hidden_size // cfg.num_attention_heads) * 4
    width = (1 << 20) // per_row  # the most tokens per row that 1 MiB holds
    assert small._decode_rows(0, width // 2, 0) == 2  # room for 2 rows of width/2
    assert small._decode_rows(0, width // 4, 0) == 4
    assert small._decode_rows(0, width * 4, 0) == 1  # budget too small: one row at a time
    shared = HFBackend(str(tiny_model_dir), device="cpu", batch_size=2, kv_budget_mb=1, shared_prefix=True)
    assert shared._decode_rows(width * 4, width // 4, 0) == 4  # the shared prefix is kept once, not per row
    copied = HFBackend(str(tiny_model_dir), device="cpu", batch_size=2, kv_budget_mb=1, shared_prefix=False)
    assert copied._decode_rows(width // 4, width // 4, 0) == 2  # without it every row holds a copy
    assert big._decode_rows(100, 10, 10) == 8  # capped by max_decode_rows
    params = GenParams(max_new_tokens=8)
    want = [c.text for c in plain.generate(bfcl_like(QUESTIONS), params)]
    assert [c.text for c in small.generate(bfcl_like(QUESTIONS), params)] == want
    assert [c.text for c in big.generate(bfcl_like(QUESTIONS), params)] == want


@pytest.mark.parametrize("budget", [1, 4096])
def test_decoding_with_the_prefix_kept_once_gives_the_same_greedy_texts(tiny_model_dir, backends, budget):
    """`shared_prefix=True`: decode attends to one batch-1 copy of the prefix (shared_prefix.py), rows keep only
    their own tokens; rows dropping out mid-decode and several decode groups (budget 1 MiB) included."""
    _, plain = backends
    shared = HFBackend(str(tiny_model_dir), device="cpu", batch_size=2, kv_budget_mb=budget, prefill_tokens=8,
                       shared_prefix=True)
    params = GenParams(max_new_tokens=12)
    prompts = bfcl_like(QUESTIONS * 2)
    got = shared.generate(prompts, params)
    assert [c.text for c in got] == [c.text for c in plain.generate(prompts, params)]
    assert shared.stats["prefix_tokens_computed"] > 20 and shared.stats["decode_steps"] > 0


def test_a_row_longer_than_a_prefill_chunk_is_prefilled_in_pieces(tiny_model_dir, backends):
    """A lone long prompt (nothing shared) and a pair sharing a prefix: no forward sees more than
    `prefill_tokens` new tokens of a row, and the greedy texts equal plain `generate`."""
    _, plain = backends
    small = HFBackend(str(tiny_model_dir), device="cpu", prefill_tokens=8)
    seen: list[int] = []
    # every forward (transformers' or the lean one) embeds its new tokens first
    small.model.model.embed_tokens.register_forward_pre_hook(lambda _m, args: seen.append(args[0].shape[1]))
    params = GenParams(max_new_tokens=6)
    for prompts in (bfcl_like(QUESTIONS[2:3]), bfcl_like(QUESTIONS[2:4])):
        seen.clear()
        assert [c.text for c in small.generate(prompts, params)] == [c.text for c in plain.generate(prompts, params)]
        assert len(small.encode(prompts)[0]) > 40 and max(seen[1:]) <= 8  # seen[0]: the shared prefix, at batch 1
        assert len(seen) > 6


@pytest.mark.parametrize("lean", [True, False])
def test_with_nothing_shared_every_step_still_masks_the_pads(tiny_model_dir, backends, monkeypatch, lean):
    """No common prefix (min_prefix out of reach) and rows of different lengths: every attention call, decode
    steps included, gets the rows' mask, so no row attends to another's pads; texts equal plain `generate`."""
    from harness.backends import shared_prefix as sp

    _, plain = backends
    calls: list[tuple[int, bool]] = []
    real = sp.attention

    def spy(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
        calls.append((query.shape[2], kwargs.get(sp.MASK_KWARG) is not None))
        return real(module, query, key, value, attention_mask, scaling, dropout, **kwargs)

    monkeypatch.setattr(sp, "attention", spy)
    fast = HFBackend(str(tiny_model_dir), device="cpu", min_prefix=10_000, lean=lean)
    params = GenParams(max_new_tokens=6)
    got = fast.generate(bfcl_like(QUESTIONS), params)
    assert fast.stats["prefix_tokens_computed"] == 0 and fast.stats["decode_steps"] > 0
    assert (fast.lean is not None) == (lean and fast.onednn)
    assert {q for q, _ in calls} > {1} and all(masked for _, masked in calls)
    assert [c.text for c in got] == [c.text for c in plain.generate(bfcl_like(QUESTIONS), params)]
