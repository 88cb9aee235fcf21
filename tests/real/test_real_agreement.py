"""Our scorers agree with the official ones on real model outputs (tests/real/outputs.jsonl.gz).

BFCL: our decode + check against bfcl-eval's decoder and ast_checker / relevance
rule (the same official side as tests/bfcl/test_agreement.py). API-Bank ToolRL
protocol: against the line-by-line restatement of ToolRL's generate.py +
evaluate.py in tests/apibank/test_toolrl_agreement.py. API-Bank original protocol:
against verdicts the original evaluator gave 200 real completions (recorded
in apibank_original_verdicts.json.gz, since it cannot run here).
"""

from __future__ import annotations

from collections import Counter

import pytest

from harness.bfcl.errors import UnsafeExpression
from harness.bfcl.scoring import score_output
from tests.bfcl import corpus as bfcl_corpus
from tests.data_paths import needs
from tests.real.corpus import load


@pytest.fixture(scope="module")
def outputs() -> list[dict]:
    rows = load()
    assert len(rows) >= 1500
    return rows


def test_bfcl_real_outputs_agree_with_official(outputs):
    from tests.bfcl.test_agreement import official_verdict
    from tests.official_bfcl import official

    o = official()
    rows = [r for r in outputs if r["task"].startswith("bfcl:") and r["format"] == "prompting"
            and not r["task"].startswith("bfcl:multi_turn")]
    seen, mismatches = Counter(), []
    for r in rows:
        category = r["task"].split(":", 1)[1]
        entries, answers = bfcl_corpus.load(category)
        index = next(i for i, e in enumerate(entries) if e["id"] == r["id"])
        ours = score_output(category=category, functions=entries[index]["function"],
                            possible_answer=None if answers is None else answers[index]["ground_truth"],
                            text=r["completion"])
        if any(UnsafeExpression.__name__ in e for e in ours.errors):  # never handed to the official eval
            assert not ours.valid or "irrelevance" in category
            seen["refused"] += 1
            continue
        expected = official_verdict(o, bfcl_corpus.Case(category, index, "real", r["completion"]))
        if expected[0] == "crash":
            assert not ours.valid
            seen["official_crash"] += 1
            continue
        seen[expected] += 1
        if expected != (ours.valid, ours.error_type):
            mismatches.append((r["task"], r["id"], expected, (ours.valid, ours.error_type), r["completion"][:200]))
    assert not mismatches, f"{len(mismatches)} of {len(rows)} disagree, first: {mismatches[:3]}"
    assert len(rows) >= 3000 and len({r["task"] for r in rows}) == 13  # every single-turn category
    assert seen[(True, None)] > 0 and seen[(False, "ast_decoder:decoder_failed")] > 0, seen


def test_bfcl_multi_turn_real_episodes_agree_with_official(outputs):
    """Whole episodes (BFCL `result`: turn -> raw step outputs) through BFCL's multi-turn evaluator."""
    import json

    from tests.bfcl.test_multi_turn_agreement import official_verdict, ours

    rows = [r for r in outputs if r["task"].startswith("bfcl:multi_turn")]
    assert rows, "no multi-turn episodes in outputs.jsonl.gz"
    for r in rows:
        result = json.loads(r["completion"])
        assert official_verdict(r["id"], result) == ours(r["id"], result), r["id"]


@needs("apibank")
def test_apibank_toolrl_real_outputs_agree_with_toolrl(outputs):
    from harness.apibank import data
    from tests.apibank.test_toolrl_agreement import _agree

    items = data.load_all(data.data_dir())
    rows = [r for r in outputs if r["task"].startswith("apibank:") and r["format"] == "toolrl"]
    outcomes = Counter(_agree(r["completion"], items[r["id"]]["answer_raw"])[0] for r in rows)
    assert len(rows) >= 500 and outcomes[0] > 0 and outcomes[1] > 0, outcomes


@needs("apibank")
def test_apibank_original_real_outputs_agree_with_the_original_evaluator():
    """200 real completions for the original protocol, with the verdicts the original evaluator gave them."""
    import gzip
    import json
    from pathlib import Path

    from harness.apibank.original.score import score_predictions
    from tests.apibank.test_original_agreement import DATA, verdict_code

    recorded = json.loads(gzip.decompress(Path(__file__).with_name("apibank_original_verdicts.json.gz").read_bytes()))
    mismatches, seen = [], Counter()
    for level in (1, 2):
        rows = [r for r in recorded["rows"] if r["level"] == level]
        ours = score_predictions([{k: r[k] for k in ("file", "sample_id", "pred")} for r in rows], DATA, "official",
                                 level=level)
        for r, u in zip(rows, ours, strict=True):
            code = verdict_code(u)
            seen[r["verdict"]] += 1
            if code != r["verdict"]:
                mismatches.append((r["file"], r["sample_id"], r["verdict"], code, r["pred"][:150]))
    assert not mismatches, mismatches[:3]
    assert sum(seen.values()) == 200 and len(seen) >= 3, seen  # not one class only
