"""ROUGE-L F as the `rouge` package (1.0.1) computes it, on hand-worked cases.

Values were worked out by hand from the package's definition and cross-checked
once against the package itself (3,005 random pairs, exact equality).
"""

from __future__ import annotations

import pytest

from harness.apibank.original.rouge import EmptyText, rouge_l, rouge_l_f, sentences


def f(p: float, r: float) -> float:
    return 2.0 * p * r / (p + r + 1e-8)


def test_identical():
    assert rouge_l_f("the cat sat on the mat", "the cat sat on the mat") == pytest.approx(f(1, 1), abs=0)


def test_reversed_order_keeps_one_word():
    # LCS of "a b c" vs "c b a" is one word; 3 distinct words each side
    assert rouge_l_f("a b c", "c b a") == f(1 / 3, 1 / 3)


def test_sentences_split_on_periods_and_whitespace_collapsed():
    assert sentences(" x  y .z. ") == ["x y", "z", ""]
    # union LCS across sentences: order of sentences does not matter
    assert rouge_l_f("the cat. the dog", "the dog. the cat") == f(1, 1)


def test_distinct_word_counts():
    # hyp "a a a b" has 2 distinct words; ref "a b a b" too; LCS word set {a, b}
    s = rouge_l("a a a b", "a b a b")
    assert (s["p"], s["r"]) == (1.0, 1.0)
    # hyp has 3 distinct words (x, y, z), ref 2; LCS {x, y}
    s = rouge_l("x  y   z", "x y")
    assert (s["p"], s["r"]) == (2 / 3, 1.0)
    assert s["f"] == f(2 / 3, 1.0)


def test_crossed_order_keeps_one_word():
    # ref "a b", hyp "b a": the LCS is a single word, whichever the backtrack picks
    s = rouge_l("b a", "a b")
    assert s["p"] == 0.5 and s["r"] == 0.5


def test_no_overlap_is_zero():
    assert rouge_l_f("hello world", "goodbye moon") == 0.0


@pytest.mark.parametrize("hyp", ["", "...", "."])
def test_empty_hypothesis_raises(hyp):
    with pytest.raises(EmptyText):
        rouge_l_f(hyp, "reference text")
