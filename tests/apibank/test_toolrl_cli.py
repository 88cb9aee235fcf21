"""`rest score apibank`: ToolRL/ResT protocol end to end, input errors, and the original-protocol dispatch."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from harness.apibank import data
from harness.cli import main
from tests.data_paths import dataset_dir, needs

SHARED = dataset_dir("apibank")
pytestmark = needs("apibank")


@pytest.fixture(scope="module")
def items():
    return data.load_all(SHARED)


@pytest.fixture(autouse=True)
def _data_env(monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(SHARED))


def _render(call: dict, pretty: bool = False) -> str:
    return "<think>t</think>\n<tool_call>\n" + json.dumps(call, indent=2 if pretty else None) + "\n</tool_call>"


def _write(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_full_split_scores_counts_and_order(items, tmp_path, capsys):
    rows, expect = [], {}
    for n, (key, it) in enumerate(items.items()):
        kind = n % 4  # 0: correct, 1: correct twice in one block (soft only), 2: pretty (lost), 3: wrong value
        call = dict(it["answer"])
        if kind == 1:
            text = _render(call).replace("\n</tool_call>", "\n" + json.dumps(call) + "\n</tool_call>")
        elif kind == 2:
            text = _render(call, pretty=True)
        elif kind == 3:
            text = _render({"name": call["name"], "parameters": {**call["parameters"], "zz": "1"}})
        else:
            text = _render(call)
        rows.append({"id": key, "result": text})
        expect[key] = (int(kind in (0, 1)), int(kind == 0))
    rows.reverse()  # input order need not be file order
    f1 = _write(tmp_path / "a.jsonl", rows[:300])
    f2 = _write(tmp_path / "b.jsonl", rows[300:])
    out = tmp_path / "per_sample.jsonl"
    assert main(["score", "apibank", f1, f2, "--protocol", "toolrl", "--out", str(out)]) == 0
    got = [json.loads(x) for x in out.read_text().splitlines()]
    assert [g["id"] for g in got] == [r["id"] for r in rows]
    for g in got:
        assert (g["score"], g["strict"]) == expect[g["id"]], g
        assert g["level"] == items[g["id"]]["level"]
    printed = capsys.readouterr().out
    soft = sum(s for s, _ in expect.values())
    strict = sum(s for _, s in expect.values())
    assert f"{round(soft / 597 * 100, 2):.2f} ({soft}/597)" in printed
    assert f"{round(strict / 597 * 100, 2):.2f} ({strict}/597)" in printed
    assert "partial run" not in printed


def test_scores_come_only_from_the_given_outputs(items, tmp_path):
    key = "Level1_0"
    good = _write(tmp_path / "good.jsonl", [{"id": key, "result": _render(items[key]["answer"])}])
    bad = _write(tmp_path / "bad.jsonl", [{"id": key, "result": "no call"}])
    out = tmp_path / "o.jsonl"
    assert main(["score", "apibank", good, "--out", str(out)]) == 0
    assert json.loads(out.read_text())["score"] == 1
    assert main(["score", "apibank", bad, "--out", str(out)]) == 0  # same --out: no best-of-N carry-over
    assert json.loads(out.read_text())["score"] == 0


def test_partial_run_is_flagged(items, tmp_path, capsys):
    f = _write(tmp_path / "p.jsonl", [{"id": "Level2_3", "result": "x"}])
    assert main(["score", "apibank", f]) == 0
    assert "partial run" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "Level1_0", "result": "x"}\n{oops\n', "bad.jsonl:2: not valid JSON"),
        ('\n\n{"id": "Level9_0", "result": "x"}\n', "bad.jsonl:3: unknown id 'Level9_0'"),
        ('{"id": "Level1_399", "result": "x"}\n', "unknown id 'Level1_399'"),
        ('{"id": "Level1_0", "result": null}\n', 'needs a string "result"'),
        ('{"result": "x"}\n', 'needs a string "id"'),
        ("[1, 2]\n", "expected a JSON object"),
        ('{"id": "Level1_0", "result": "x"}\n{"id": "Level1_0", "result": "y"}\n', "duplicate id 'Level1_0'"),
        ("\n", "no outputs"),
    ],
)
def test_bad_inputs_are_one_line_user_errors(tmp_path, capsys, content, message):
    (tmp_path / "bad.jsonl").write_text(content)
    assert main(["score", "apibank", str(tmp_path / "bad.jsonl")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("rest: error: ") and err.count("\n") == 1


def test_missing_file_and_out_over_input(tmp_path, capsys):
    assert main(["score", "apibank", str(tmp_path / "missing.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    f = _write(tmp_path / "in.jsonl", [{"id": "Level1_0", "result": "x"}])
    assert main(["score", "apibank", f, "--out", f]) == 2
    assert "is one of the input files" in capsys.readouterr().err
    assert main(["score", "apibank", f, "--data-dir", str(tmp_path / "nope")]) == 2
    assert "--data-dir" in capsys.readouterr().err


def test_original_protocol_dispatch(tmp_path, capsys, monkeypatch):
    seen = {}

    def score_predictions(rows, data_dir, mode="official", level=1):
        seen.update(rows=rows, data_dir=data_dir, mode=mode)
        return [{"file": r["file"], "sample_id": r["sample_id"], "correct": r["pred"] == "ok", "error": None,
                 "extra": 1} for r in rows]

    def summarize(results):
        return {"call_accuracy": sum(r["correct"] for r in results) / len(results), "total": len(results)}

    fake = types.ModuleType("harness.apibank.original.score")
    fake.score_predictions, fake.summarize = score_predictions, summarize
    monkeypatch.setitem(sys.modules, "harness.apibank.original.score", fake)
    import harness.apibank.original as pkg

    monkeypatch.setattr(pkg, "score", fake, raising=False)
    rows = [{"file": "AddAlarm-level-1-1.jsonl", "sample_id": 0, "pred": "ok"},
            {"file": "AddAlarm-level-1-1.jsonl", "sample_id": 2, "pred": "no"}]
    f = _write(tmp_path / "orig.jsonl", rows)
    out = tmp_path / "o.jsonl"
    assert main(["score", "apibank", f, "--protocol", "original", "--mode", "stateful", "--out", str(out)]) == 0
    assert seen["rows"] == rows and seen["mode"] == "stateful" and seen["data_dir"] == SHARED
    assert [json.loads(x) for x in out.read_text().splitlines()] == [
        {"file": "AddAlarm-level-1-1.jsonl", "sample_id": 0, "correct": True, "error": None},
        {"file": "AddAlarm-level-1-1.jsonl", "sample_id": 2, "correct": False, "error": None},
    ]
    assert "0.5000" in capsys.readouterr().out
    (tmp_path / "bad.jsonl").write_text('{"file": "x", "sample_id": "0", "pred": "p"}\n')
    assert main(["score", "apibank", str(tmp_path / "bad.jsonl"), "--protocol", "original"]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err
