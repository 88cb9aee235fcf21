"""ROUGE-L F as API-Bank computes it: `rouge.Rouge().get_scores(hyp, ref)[0]['rouge-l']['f']`.

Our own implementation of the `rouge` package's (1.0.1) summary-level ROUGE-L:
texts are cut into sentences on ".", each sentence's whitespace is collapsed
and split on " "; the LCS of each (reference sentence, hypothesis sentence)
pair is rebuilt by the package's backtrack and reduced to its *set* of words;
the union of these sets over all pairs is the hit count; recall and precision
divide it by the number of *distinct* words of reference and hypothesis, and
F = 2PR / (P + R + 1e-8). The set semantics ("exclusive" mode) and the exact
backtrack order matter: they change scores on repeated words.
"""

from __future__ import annotations


class EmptyText(ValueError):
    """The package raises on a text with no sentence (e.g. "" or "..."); API-Bank then crashes."""


def sentences(text: str) -> list[str]:
    return [" ".join(s.split()) for s in text.split(".") if len(s) > 0]


def _lcs_words(ref: list[str], hyp: list[str]) -> set[str]:
    """Words of one LCS of ref and hyp, chosen by the package's backtrack (ties go left in hyp)."""
    n, m = len(ref), len(hyp)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if ref[i - 1] == hyp[j - 1]:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    out: set[str] = set()
    i, j = n, m
    while i > 0 and j > 0:
        if ref[i - 1] == hyp[j - 1]:
            out.add(ref[i - 1])
            i, j = i - 1, j - 1
        elif table[i - 1][j] > table[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return out


def rouge_l(hyp: str, ref: str) -> dict[str, float]:
    """{'f','p','r'} of ROUGE-L; raises EmptyText where the package raises ValueError."""
    hs, rs = sentences(hyp), sentences(ref)
    if not hs:
        raise EmptyText("Hypothesis is empty.")
    if not rs:
        raise EmptyText("Reference is empty.")
    ref_vocab = {w for s in rs for w in s.split(" ")}
    hyp_vocab = {w for s in hs for w in s.split(" ")}
    union: set[str] = set()
    for r in rs:
        rw = r.split(" ")
        for h in hs:
            union |= _lcs_words(rw, h.split(" "))
    hits = len(union)
    r_ = hits / len(ref_vocab)
    p_ = hits / len(hyp_vocab)
    return {"f": 2.0 * ((p_ * r_) / (p_ + r_ + 1e-8)), "p": p_, "r": r_}


def rouge_l_f(hyp: str, ref: str) -> float:
    """API-Bank's reply score: ROUGE-L F of hyp against ref."""
    return rouge_l(hyp, ref)["f"]
