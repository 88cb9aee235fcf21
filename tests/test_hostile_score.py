"""Issue 22 items 6 and 7: `rest score` refuses duplicate ids and an --out that is an input file.

Every refusal is one line on stderr and exit status 2, before any score is printed.
"""

from __future__ import annotations

import json
import os

import pytest

from harness.cli import main
from tests.bfcl.test_scorefile import _answer_text
from tests.data_paths import needs


def _write(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _refused(capsys, argv: list[str]) -> str:
    """Run `rest ARGV`; assert it exits 2 with one stderr line and no table; return that line."""
    rc = main(argv)
    captured = capsys.readouterr()
    assert rc == 2, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rest: error: "), captured.err
    assert "accuracy" not in captured.out
    return lines[0]


def test_bfcl_400_copies_of_one_correct_answer_are_refused(tmp_path, capsys):
    test_id, text = _answer_text("simple_python", 0)
    path = _write(tmp_path / "r.json", [{"id": test_id, "result": text}] * 400)
    line = _refused(capsys, ["score", "bfcl", path])
    assert f"duplicate id {test_id!r}" in line and "r.json:2" in line and "r.json:1" in line


def test_bfcl_a_duplicate_across_files_names_both_places(tmp_path, capsys):
    a_id, a_text = _answer_text("simple_python", 0)
    b_id, b_text = _answer_text("simple_python", 1)
    first = _write(tmp_path / "a.json", [{"id": a_id, "result": a_text}, {"id": b_id, "result": b_text}])
    second = _write(tmp_path / "b.json", [{"id": b_id, "result": "wrong("}])
    line = _refused(capsys, ["score", "bfcl", first, second])
    assert f"duplicate id {b_id!r}" in line and "b.json:1" in line and "a.json:2" in line


def test_bfcl_multi_turn_duplicates_are_refused_too(tmp_path, capsys):
    path = _write(tmp_path / "mt.json", [{"id": "multi_turn_base_0", "result": [["x"]]}] * 2)
    assert "duplicate id 'multi_turn_base_0'" in _refused(capsys, ["score", "bfcl", path])


def test_bfcl_unique_ids_still_score(tmp_path, capsys):
    rows = [dict(zip(("id", "result"), _answer_text("simple_python", i), strict=True)) for i in range(3)]
    assert main(["score", "bfcl", _write(tmp_path / "r.json", rows)]) == 0
    assert "simple_python" in capsys.readouterr().out


@pytest.mark.parametrize("how", ["same path", "relative path", "symlink", "hard link"])
def test_bfcl_out_that_is_an_input_file_is_refused_and_the_input_survives(tmp_path, capsys, monkeypatch, how):
    test_id, text = _answer_text("simple_python", 0)
    path = _write(tmp_path / "r.json", [{"id": test_id, "result": text}])
    before = (tmp_path / "r.json").read_bytes()
    out = path
    if how == "relative path":
        monkeypatch.chdir(tmp_path)
        out = "./sub/../r.json"
        (tmp_path / "sub").mkdir()
    elif how == "symlink":
        os.symlink(path, tmp_path / "link.jsonl")
        out = str(tmp_path / "link.jsonl")
    elif how == "hard link":
        os.link(path, tmp_path / "hard.jsonl")
        out = str(tmp_path / "hard.jsonl")
    line = _refused(capsys, ["score", "bfcl", path, "--out", out])
    assert "one of the input files" in line
    assert (tmp_path / "r.json").read_bytes() == before


def test_apibank_original_refuses_a_repeated_prediction(tmp_path, capsys):
    row = {"file": "AddAlarm-level-1-1.jsonl", "sample_id": 0, "pred": "API-Request: [AddAlarm()]"}
    path = _write(tmp_path / "p.jsonl", [row, {**row, "sample_id": 1}, row])
    line = _refused(capsys, ["score", "apibank", "--protocol", "original", path])
    assert "p.jsonl:3" in line and "duplicate prediction" in line and "p.jsonl:1" in line


def test_apibank_original_level3_keys_steps_and_replies_apart(tmp_path, capsys):
    step = {"sample_id": 0, "api_id": 0, "pred": "API-Request: [ToolSearcher(keywords='x')]"}
    reply = {"sample_id": 0, "pred": "done"}
    path = _write(tmp_path / "p3.jsonl", [step, reply, {**step, "api_id": 1}, reply])
    line = _refused(capsys, ["score", "apibank", "--protocol", "original", "--level", "3", path])
    assert "p3.jsonl:4" in line and "reply of sample_id 0" in line


@needs("apibank")
def test_apibank_toolrl_refuses_duplicates_as_before(tmp_path, capsys):
    path = _write(tmp_path / "t.jsonl", [{"id": "Level1_0", "result": "x"}] * 2)
    assert "duplicate id 'Level1_0'" in _refused(capsys, ["score", "apibank", path])
