"""Data preparation: seeded shuffles and splits, contamination check, token-length filter (real SmolLM2 tokenizer)."""

from __future__ import annotations

import pytest

from harness.types import UserError
from trainer.data_prep import (
    check_contamination,
    filter_by_length,
    find_overlap,
    prompt_text,
    sequence_length,
    shuffle,
    split,
)


def row(i: int, user: str | None = None, rid: str | None = "auto") -> dict:
    r = {"prompt": [{"role": "system", "content": "S"}, {"role": "user", "content": user or f"question {i}"}],
         "ground_truth": f"<think> t </think>\n<response> {i} </response>"}
    if rid is not None:
        r["id"] = f"id{i}" if rid == "auto" else rid
    return r


def test_shuffle_is_seeded_and_a_permutation():
    rows = [row(i) for i in range(50)]
    a, b, c = shuffle(rows, 7), shuffle(rows, 7), shuffle(rows, 8)
    assert a == b and a != c and a != rows
    assert sorted(r["id"] for r in a) == sorted(r["id"] for r in rows)
    assert rows[0]["id"] == "id0"  # input untouched


def test_split_counts_fractions_and_seed():
    rows = [row(i) for i in range(40)]
    train, held = split(rows, 0.02 * 2.5)  # 5%: 2 rows
    assert (len(train), len(held)) == (38, 2) and held == rows[-2:]
    train, held = split(rows, 10, seed=3)
    assert len(train) == 30 and len(held) == 10
    assert not {r["id"] for r in train} & {r["id"] for r in held}
    assert split(rows, 10, seed=3) == (train, held)
    assert split(rows, 0) == (rows, [])
    with pytest.raises(UserError, match="cannot hold out"):
        split(rows, 41)


def test_contamination_by_id_and_by_exact_prompt():
    train = [row(i) for i in range(5)]
    clean = [row(i, user=f"other {i}", rid=f"e{i}") for i in range(3)]
    check_contamination(train, clean)  # no overlap: no error
    same_id = [row(0, user="a different question")]  # same id, different prompt
    same_prompt = [row(3, rid="fresh-id")]  # same prompt text, different id
    no_id = [row(4, rid=None)]
    assert find_overlap(train, same_id) == [("id", "id0")]
    assert find_overlap(train, same_prompt) == [("prompt", "fresh-id")]
    assert find_overlap(train, no_id) == [("prompt", "#0")]
    with pytest.raises(UserError, match=r"2 of 5 heldout items are in train \(1 by id, 1 by exact prompt\)"):
        check_contamination(train, clean + same_id + same_prompt, "train", "heldout")
    near = [row(1, user="question 1 ", rid="x")]  # one extra space: not the exact prompt
    assert find_overlap(train, near) == []
    assert prompt_text(row(1)) != prompt_text(near[0])


def test_real_data_overlap_is_found():
    """rlla_sft.json holds one toolrl:test prompt verbatim (with a distilled thought instead of the placeholder)."""
    from trainer.data import rows_with_ids

    train, test = rows_with_ids("toolrl:sft"), rows_with_ids("toolrl:test")
    assert (len(train), len(test)) == (400, 80)
    assert find_overlap(train, test) == [("prompt", "rlla_4k_test:42")]
    with pytest.raises(UserError, match="contamination: 1 of 80"):
        check_contamination(train, test, "toolrl:sft", "toolrl:test")


class CharTokenizer:
    """One token per character; chat template = role + ':' + content + '|' per message."""

    def apply_chat_template(self, messages, tokenize=False):
        return "".join(f"{m['role']}:{m['content']}|" for m in messages)

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": list(range(len(text)))}


def test_length_filter_by_hand():
    tok = CharTokenizer()
    rows = [row(i, user="x" * (10 * i)) for i in range(5)]
    lens = [sequence_length(tok, r) for r in rows]
    gt = len(rows[0]["ground_truth"])
    assert lens[2] == len("system:S|") + len("user:") + 20 + 1 + len("assistant:") + gt + 1
    assert sequence_length(tok, rows[2], "raw") == 1 + 20 + gt
    kept, rep = filter_by_length(rows, tok, lens[2])
    assert kept == rows[:3] and (rep.total, rep.kept, rep.longest_kept, rep.shortest) == (5, 3, lens[2], lens[0])
    assert "3 of 5 rows kept" in rep.line()
    kept, rep = filter_by_length(rows, tok, None)
    assert kept == rows and rep.kept == 5
    with pytest.raises(UserError, match="length mode"):
        sequence_length(tok, rows[0], "bytes")


def test_length_filter_count_on_real_smollm2_tokenizer(smollm_tokenizer):
    """The issue says 127 of rlla_sft.json fit in 1,024 SmolLM2 tokens: that is the count WITHOUT the chat
    template (system + user + answer texts). The sequence actually trained on adds the ChatML markers
    (~16 tokens) and the end-of-turn, and then 118 fit."""
    from trainer.data import rows_with_ids

    rows = rows_with_ids("toolrl:sft")
    _, chat = filter_by_length(rows, smollm_tokenizer, 1024, "chat")
    _, raw = filter_by_length(rows, smollm_tokenizer, 1024, "raw")
    assert (chat.total, chat.kept, raw.kept) == (400, 118, 127)
    assert chat.shortest == 625 and raw.shortest == 609
