"""Agreement with the original API-Bank evaluators on perturbed Level-1 (10,625), Level-2 (2,490) and Level-3 (3,181) predictions.

The verdicts in original_verdicts_l{1,2,3}.json.gz were produced by running
the original evaluators (AlibabaResearch/DAMO-ConvAI@483554e: `evaluator_by_json.py`
for Levels 1-2, `lv3_evaluator.py` for Level-3; offline, on this shared data)
over the predictions that `perturb` below generates from the gold outputs:
Level-1 from the JSON test data, Levels 2 and 3 from their gold calls other than
ToolSearcher (whose verdict depends on a sentence embedder; see
docs/apibank_original.md). Ours must agree on every one.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from harness.apibank.original.score import gold_rows, score_predictions
from tests.data_paths import dataset_dir, needs

DATA = dataset_dir("apibank")
pytestmark = needs("apibank")

ARG = re.compile(r"(\w+)='([^']*)'")


def perturb(pred: str) -> list[str]:
    """Variants of one gold output: format changes, value/key edits, dates, lists, extra calls."""
    call = pred[len("API-Request: ") :] if pred.startswith("API-Request: ") else pred
    m = re.match(r"\[(\w+)\((.*)\)\]", call)
    name, args = m.group(1), ARG.findall(m.group(2))

    def mk(a, n=name):
        return "[{}({})]".format(n, ", ".join(f"{k}='{v}'" for k, v in a))

    out = [
        pred, call, "Sure! " + call + " Done.", call.replace("'", '"'), call.lower(), "no call here",
        "[" + name + "]", mk(args, name + "s"), mk(args[:-1]) if args else call, mk(args + [("extra", "1")]),
        mk(args) + " " + mk(args[::-1]), "API-Request:\n" + call + "\n[Other(x='1')]", call.replace("(", "( ", 1),
        mk([(k, v.upper()) for k, v in args]), mk([(k, v + " ") for k, v in args]), mk([(k, " ") for k, v in args]),
        mk(args[::-1]), mk([(k + "_x" if i == 0 else k, v) for i, (k, v) in enumerate(args)]),
        "[" + name + "(" + ", ".join(f"{k}={v}" for k, v in args) + ")]",
    ]  # fmt: skip
    for i, (k, v) in enumerate(args):
        words = v.split(" ")
        if len(words) > 2:
            a2 = list(args)
            a2[i] = (k, " ".join(words[:-1]))
            out.append(mk(a2))
            a3 = list(args)
            a3[i] = (k, " ".join(words[:1]))
            out.append(mk(a3))
        if re.match(r"\d{4}-\d\d-\d\d", v):
            for f in (v.replace("-", "/"), v[2:], v[:10], v + " 00:00:00", v.replace("2023", "23"), v.replace("-0", "-")):
                a2 = list(args)
                a2[i] = (k, f)
                out.append(mk(a2))
        a4 = list(args)
        a4[i] = (k, v + "x")
        out.append(mk(a4))
        a5 = list(args)
        a5[i] = (k, "[1, 2]")
        out.append(mk(a5).replace("'[1, 2]'", "[1, 2]"))
    return out


CLASSES = {"NO_API_CALL", "API_NAME_MISMATCH", "INVALID_INPUT_PARAMETER", "MISS_INPUT_ARGUMENT", "HAS_EXCEPTION",
           "INPUT_MISMATCH", "OUTPUT_MISMATCH", "KEY_ERROR", "UNHANDLED_EXCEPTION"}


def verdict_code(result: dict) -> str:
    """Our scored row as the recorded verdicts spell it: C, or the error class."""
    return "C" if result["correct"] else (result["error"] or "WRONG")


def recorded(level: int) -> list[str]:
    data = json.loads(gzip.decompress(Path(__file__).with_name(f"original_verdicts_l{level}.json.gz").read_bytes()))
    assert data["count"] == len(data["verdicts"])
    return data["verdicts"]


@pytest.mark.parametrize(("level", "size", "min_correct"), [(1, 10625, 3000), (2, 2490, 500)])
def test_agreement_with_original_evaluator_levels_1_and_2(level, size, min_correct):
    """Level-2 uses its dialogues' gold calls other than ToolSearcher (whose verdict needs an embedder)."""
    rows = [{"file": g["file"], "sample_id": g["sample_id"], "pred": v} for g in gold_rows(DATA, level)
            if "ToolSearcher" not in g["pred"] for v in perturb(g["pred"])]
    verdicts = recorded(level)
    assert len(rows) == len(verdicts) == size
    ours = [verdict_code(r) for r in score_predictions(rows, DATA, "official", level=level)]
    mismatches = [(row["file"], row["sample_id"], row["pred"], a, b)
                  for row, a, b in zip(rows, ours, verdicts, strict=True) if a != b]
    assert not mismatches, mismatches[:5]
    seen = Counter(verdicts)  # the corpus exercises every class, so agreement is not vacuous
    assert seen["C"] > min_correct and CLASSES <= set(seen), seen


# The original Level-3 evaluator only knows right/wrong; the exception it caught (or did not) must map to our class.
LEVEL3_CLASSES = {"W:no_call": {"NO_API_CALL"}, "W:tool_name": {"INVALID_TOOL_NAME"},
                  "W:assert": {"INVALID_INPUT_PARAMETER"}, "W:type": {"MISS_INPUT_ARGUMENT", "TYPE_ERROR"},
                  "CRASH": {"UNHANDLED_EXCEPTION"}, "W": {"HAS_EXCEPTION", "INPUT_MISMATCH", "OUTPUT_MISMATCH"}}


def test_agreement_with_original_evaluator_level3_stateful_file():
    """3,181 perturbed steps scored as one file, in order, through one shared tool state (as lv3_evaluator does)."""
    from harness.apibank.original.level3 import gold_rows_level3, score_level3

    rows = [{"sample_id": g["sample_id"], "api_id": g["api_id"], "pred": v} for g in gold_rows_level3(DATA)
            if "ToolSearcher" not in g["pred"] for v in perturb(g["pred"])]
    verdicts = recorded(3)
    assert len(rows) == len(verdicts) == 3181
    ours = score_level3(rows, DATA, "official")
    mismatches = []
    for row, verdict, u in zip(rows, verdicts, ours, strict=True):
        ok = u["correct"] if verdict == "C" else (not u["correct"] and u["error"] in LEVEL3_CLASSES[verdict])
        if not ok:
            mismatches.append((row["sample_id"], row["api_id"], row["pred"][:120], verdict, u["correct"], u["error"]))
    assert not mismatches, mismatches[:5]
    seen = Counter(verdicts)
    assert seen["C"] > 1000 and set(LEVEL3_CLASSES) <= set(seen), seen
