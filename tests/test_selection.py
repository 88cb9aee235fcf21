"""`--limit` as a count or a fraction, `--ids` as a list or a file (harness/selection.py)."""

from __future__ import annotations

import json

import pytest

from harness.selection import ids_for_task, parse_ids, parse_limit, unmatched
from harness.types import UserError


@pytest.mark.parametrize(("text", "n", "taken"), [
    ("64", 400, 64), ("64", 10, 10), ("0.25", 400, 100), ("0.1", 67, 7), ("1", 50, 1), ("1.0", 50, 50),
    ("0.5", 1, 1), (None, 33, 33), ("3.0", 10, 3),
])
def test_limit_is_a_count_or_a_fraction(text, n, taken):
    assert parse_limit(text).of(n) == taken


@pytest.mark.parametrize("bad", ["0", "-3", "nan", "inf", "1.5", "ten", ""])
def test_a_bad_limit_is_a_one_line_error(bad):
    with pytest.raises(UserError, match="--limit"):
        parse_limit(bad)


def test_ids_from_a_list_and_from_files(tmp_path):
    assert parse_ids("simple_python_1, simple_python_7") == ["simple_python_1", "simple_python_7"]
    assert parse_ids("bfcl:multiple/multiple_3") == ["bfcl:multiple/multiple_3"]
    lines = tmp_path / "ids.txt"
    lines.write_text("# items that flipped\nsimple_python_1\n\nbfcl:multiple/multiple_3\n")
    assert parse_ids(str(lines)) == ["simple_python_1", "bfcl:multiple/multiple_3"]
    js = tmp_path / "ids.json"
    js.write_text(json.dumps(["a", {"id": "b"}]))
    assert parse_ids(str(js)) == ["a", "b"]
    jl = tmp_path / "samples.jsonl"  # a run's samples file names its items
    jl.write_text('{"id": "x", "valid": true}\n{"id": "y"}\n')
    assert parse_ids(str(jl)) == ["x", "y"]


def test_missing_or_empty_id_files_are_errors(tmp_path):
    with pytest.raises(UserError, match="neither a file"):
        parse_ids(str(tmp_path / "nope.txt"))
    empty = tmp_path / "e.txt"
    empty.write_text("\n# nothing\n")
    with pytest.raises(UserError, match="names no item"):
        parse_ids(str(empty))
    bad = tmp_path / "b.json"
    bad.write_text("[1, 2]")
    with pytest.raises(UserError, match="not an item id"):
        parse_ids(str(bad))


def test_ids_select_in_task_order_plain_or_qualified():
    task_ids = ["s_0", "s_1", "s_2", "s_3"]
    assert ids_for_task(["s_3", "bfcl:simple/s_1", "other:t/s_2"], "bfcl:simple", task_ids) == ["s_1", "s_3"]
    assert unmatched(["s_3", "bfcl:simple/s_1", "zzz", "bfcl:simple/s_9"], {"bfcl:simple": task_ids}) == \
        ["zzz", "bfcl:simple/s_9"]
