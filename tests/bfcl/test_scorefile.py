"""`rest score bfcl`: reading result files, per-sample output, errors, and BFCL's result layout."""

from __future__ import annotations

import argparse
import json

import pytest

from harness.bfcl import data
from harness.bfcl.cli import add_score_parser
from harness.bfcl.scorefile import category_counts, read_result_files, score_lines, write_result_files
from harness.types import UserError


def _answer_text(category: str, index: int) -> tuple[str, str]:
    """(id, a correct prompting-mode output) for a Python-syntax category entry."""
    entry = data.load_entries(category, False)[index]
    gt = data.load_answers(category)[entry["id"]]
    calls = []
    for call in gt:
        name, params = next(iter(call.items()))
        args = ", ".join(f"{k}={[v for v in alts if v != ''][0]!r}" for k, alts in params.items() if alts[0] != "")
        calls.append(f"{name}({args})")
    return entry["id"], "[" + ", ".join(calls) + "]"


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _run(argv):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    add_score_parser(sub)
    args = parser.parse_args(["bfcl", *argv])
    return args.func(args)


def test_scores_mixed_files_in_input_order(tmp_path, capsys):
    ok_id, ok_text = _answer_text("simple_python", 0)
    ml_id, ml_text = _answer_text("live_simple", 3)
    irr_id = data.load_entries("irrelevance", False)[0]["id"]
    f1 = _write(tmp_path / "a.json", [{"id": ok_id, "result": ok_text}, {"id": irr_id, "result": "I can't help."}])
    wrong_id, wrong_text = _answer_text("simple_python", 1)
    f2 = _write(tmp_path / "b.json", [{"id": ml_id, "result": "garbage("},
                                      {"id": wrong_id, "result": wrong_text.replace("number=5", "number=6")}])
    out = tmp_path / "per.jsonl"
    assert _run([str(f1), str(f2), "--out", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [ok_id, irr_id, ml_id, wrong_id]
    assert [r["valid"] for r in rows] == [True, True, False, False]
    assert rows[2]["error_type"] == "ast_decoder:decoder_failed"
    assert rows[3]["error_type"] == "value_error:others"
    assert set(rows[0]) == {"id", "category", "valid", "error_type"}
    printed = capsys.readouterr().out
    assert "simple_python" in printed and "Overall" in printed and "N/A" in printed


def test_category_counts(tmp_path):
    rows = [_answer_text("multiple", i) for i in (5, 6, 7)]
    f = _write(tmp_path / "r.json", [{"id": i, "result": t if n else "nope"} for n, (i, t) in enumerate(rows)])
    rows = score_lines(read_result_files([f]))
    assert category_counts(rows) == {"multiple": (2, 3)}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "simple_python_0", "result": "x"}\n{not json\n', "r.json:2"),
        ('{"id": "simple_python_0"}\n', "'id' and 'result'"),
        ('{"id": "nosuchcat_3", "result": "x"}\n', "nosuchcat"),
        ('{"id": "simple_python_99999", "result": "x"}\n', "unknown BFCL id"),
        ('{"id": 5, "result": "x"}\n', "not a BFCL entry id"),
    ],
)
def test_bad_input_is_a_one_line_user_error(tmp_path, content, message):
    f = tmp_path / "r.json"
    f.write_text(content)
    with pytest.raises(UserError) as exc:
        _run([str(f)])
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        _run([str(tmp_path / "nope.json")])


def test_multi_turn_lines_delegate_to_the_multi_turn_scorer(tmp_path):
    f = _write(tmp_path / "mt.json", [{"id": "multi_turn_base_0", "result": [[["cd(folder='x')"]]]}])
    rows = score_lines(read_result_files([f]))
    assert rows[0]["category"] == "multi_turn_base" and rows[0]["valid"] is False


def test_fc_format_reads_tool_call_lists(tmp_path):
    entry = data.load_entries("simple_python", False)[0]
    gt = data.load_answers("simple_python")[entry["id"]][0]
    name, params = next(iter(gt.items()))
    args = {k: v[0] for k, v in params.items() if v[0] != ""}
    as_list = _write(tmp_path / "fc.json", [{"id": entry["id"], "result": [{name: json.dumps(args)}]}])
    as_text = _write(tmp_path / "fc_text.json", [
        {"id": entry["id"], "result": f"<tool_call>\n{json.dumps({'name': name, 'arguments': args})}\n</tool_call>"},
    ])
    rows = [row for f in (as_list, as_text) for row in score_lines(read_result_files([f]), "fc")]
    assert [r["valid"] for r in rows] == [True, True]


def test_write_result_files_uses_bfcl_layout_and_round_trips(tmp_path):
    ok_id, ok_text = _answer_text("live_simple", 0)
    other_id, other_text = _answer_text("parallel", 2)
    first_id, first_text = _answer_text("parallel", 1)
    paths = write_result_files(
        [{"id": ok_id, "result": ok_text}, {"id": other_id, "result": other_text}, {"id": first_id, "result": first_text}],
        tmp_path,
        "Org/Model-1",
    )
    rel = sorted(str(p.relative_to(tmp_path)) for p in paths)
    assert rel == ["result/Org_Model-1/live/BFCL_v4_live_simple_result.json", "result/Org_Model-1/non_live/BFCL_v4_parallel_result.json"]
    parallel_ids = [json.loads(x)["id"] for x in (tmp_path / rel[1]).read_text().splitlines()]
    assert parallel_ids == [first_id, other_id]  # sorted by entry index
    rows = score_lines(read_result_files(paths))
    assert all(r["valid"] for r in rows)
