"""Completions without ToolRL regions are not silently dropped from the loss: they fall back to uniform weights."""

from __future__ import annotations

import pytest

from trainer.config import load_config
from trainer.regions import RegionLabeller
from trainer.token_weighting import batch_token_weights
from trainer.weights import region_weights

TOOLRL = '<think> weather </think>\n<tool_call>\n{"name": "get_weather", "parameters": {"city": "Paris"}}\n</tool_call>'
OTHER_FORMATS = [
    '[get_weather(city="Paris")]',                                                # BFCL prompting
    '{"name": "get_weather", "parameters": {"city": "Paris"}}',                 # Llama-3 JSON
    '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}]',   # Mistral
    '```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```',    # fenced JSON
]


@pytest.mark.parametrize("preset", ["rest-code", "rest"])
def test_unlabelled_formats_fall_back_to_uniform(smollm_tokenizer, preset):
    cfg = load_config(preset).weights
    labeller = RegionLabeller(smollm_tokenizer)
    texts = [TOOLRL, *OTHER_FORMATS]
    labels = labeller.label_batch([smollm_tokenizer.encode(t, add_special_tokens=False) for t in texts])
    region_w = region_weights(cfg, 0.0, 1)
    out = batch_token_weights(labels, region_w, cfg)
    assert out.unlabelled == [False, True, True, True, True]
    assert out.unlabelled_frac == pytest.approx(0.8)
    assert any(w == 0 for w in out.rows[0]) and sum(out.rows[0]) > 0  # ToolRL text: region weights, OTHER at 0
    for row, lab in zip(out.rows[1:], labels[1:], strict=True):
        assert row == [1.0] * len(lab)  # every token trained, as plain GRPO would
    strict = batch_token_weights(labels, region_w, cfg, fallback_uniform=False)
    assert all(not any(r) for r in strict.rows[1:])  # what the official weighting does: no gradient at all


def test_empty_rows_are_not_counted():
    cfg = load_config("rest-code").weights
    out = batch_token_weights([[], [0, 0]], region_weights(cfg, 0.0, 1), cfg)
    assert out.rows == [[], [1.0, 1.0]] and out.unlabelled == [False, True] and out.unlabelled_frac == 1.0


@pytest.mark.parametrize("preset", ["rest-code", "rest"])
def test_vectorised_weights_equal_the_python_definition(smollm_tokenizer, preset):
    """The GRPO rollout path builds weights with tensors (`weight_matrix`); they must be `batch_token_weights`'."""
    import random

    import torch

    from trainer.token_weighting import regions_array, regions_tensor, weight_matrix

    cfg = load_config(preset).weights
    labeller = RegionLabeller(smollm_tokenizer)
    labels = labeller.label_batch([smollm_tokenizer.encode(t, add_special_tokens=False) for t in (TOOLRL, *OTHER_FORMATS)])
    rng = random.Random(0)
    labels += [[rng.choice([0, 0, 1, 2, 3, 4, 5]) for _ in range(rng.randint(1, 40))] for _ in range(30)] + [[], [1] * 3]
    width = max(len(r) for r in labels) + 5  # padding columns stay 0
    for progress, entropy in ((0.0, None), (0.7, {1: 0.3, 2: 0.05, 3: 0.9, 4: 2.0, 5: 1.1})):
        region_w = {int(k): float(v) for k, v in region_weights(cfg, progress, 20, region_entropy=entropy).items()}
        regions = regions_tensor(labels, (len(labels), width))
        assert [regions[i, : len(r)].tolist() for i, r in enumerate(labels)] == labels and not regions[:, -5:].any()
        for fallback_uniform in (True, False):
            w, fallback = weight_matrix(regions, torch.tensor([len(r) for r in labels]), region_w, cfg, fallback_uniform)
            ref = batch_token_weights(labels, region_w, cfg, fallback_uniform)
            expected = torch.zeros(len(labels), width)
            for i, row in enumerate(ref.rows):
                expected[i, : len(row)] = torch.tensor(row, dtype=torch.float32)
            assert w.dtype == torch.float32 and torch.allclose(w, expected, rtol=1e-6, atol=0)
            assert fallback.tolist() == ref.unlabelled
            w_np, fallback_np = weight_matrix(regions_array(labels, (len(labels), width)), [len(r) for r in labels],
                                              region_w, cfg, fallback_uniform)  # the trainer's host-array call
            assert torch.equal(w_np, w) and torch.equal(fallback_np, fallback)
