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
