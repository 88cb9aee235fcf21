"""BFCL's own layout (`--bfcl-layout DIR`): result/, score/ and data_*.csv as `bfcl evaluate` writes them.

Read back with the column names bfcl-eval declares; the tables are compared byte for byte with
what BFCL's own CSV writer makes of the score files we wrote; figures equal our summary's.
"""

from __future__ import annotations

import csv
import json
import types

import pytest

from harness.backends.base import Completion, GenParams
from harness.bfcl import data
from harness.bfcl.layout import (
    COLUMNS_AGENTIC,
    COLUMNS_LIVE,
    COLUMNS_MULTI_TURN,
    COLUMNS_NON_LIVE,
    COLUMNS_OVERALL,
    ModelScores,
    latency_cells,
    render_csv,
    tables,
)
from harness.bfcl.layout_write import write_bfcl_layout, write_layout
from harness.bfcl.metrics import bfcl_summary
from harness.bfcl.scorefile import write_result_files
from harness.cli import main
from harness.runner import RunConfig, run
from harness.types import UserError

TABLES = ("data_overall.csv", "data_live.csv", "data_non_live.csv", "data_multi_turn.csv", "data_agentic.csv")


def _correct(category: str, index: int) -> tuple[str, str]:
    """(id, a correct prompting-mode output) of a Python-syntax entry."""
    entry = data.load_entries(category, False)[index]
    calls = []
    for call in data.load_answers(category)[entry["id"]]:
        name, params = next(iter(call.items()))
        args = ", ".join(f"{k}={[v for v in alts if v != ''][0]!r}" for k, alts in params.items() if alts[0] != "")
        calls.append(f"{name}({args})")
    return entry["id"], "[" + ", ".join(calls) + "]"


def _read(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _pct(agg: dict) -> str:
    return f"{100 * agg['value']:.2f}%" if agg["complete"] else "N/A"


def test_column_names_are_bfcls():
    from bfcl_eval.constants import column_headers as official  # plain lists, no imports

    assert COLUMNS_OVERALL == official.COLUMNS_OVERALL
    assert COLUMNS_LIVE == official.COLUMNS_LIVE
    assert COLUMNS_NON_LIVE == official.COLUMNS_NON_LIVE
    assert COLUMNS_MULTI_TURN == official.COLUMNS_MULTI_TURN
    assert COLUMNS_AGENTIC == official.COLUMNS_AGENTIC


def _result_tree(tmp_path):
    """A small scored set under tmp/result/org_model-x/: right and wrong answers in three categories + multi-turn."""
    rows = []
    for i in range(4):
        test_id, text = _correct("simple_python", i)
        rows.append({"id": test_id, "result": text if i != 2 else "garbage(", "latency": 1.0 + i})
    live_id, live_text = _correct("live_simple", 0)
    rows.append({"id": live_id, "result": live_text, "latency": 2.5})
    for entry in data.load_entries("irrelevance", False)[:3]:
        rows.append({"id": entry["id"], "result": "I cannot help with that."})
    rows.append({"id": "multi_turn_base_0", "result": "not a list"})
    return write_result_files(rows, tmp_path, "org/model-x")


def test_rest_score_writes_bfcls_layout_and_tables_read_back(tmp_path, capsys):
    files = _result_tree(tmp_path / "in")
    out, per_sample = tmp_path / "bfcl", tmp_path / "rows.jsonl"
    assert main(["score", "bfcl", *map(str, files), "--out", str(per_sample), "--bfcl-layout", str(out)]) == 0
    assert "data_overall.csv" in capsys.readouterr().out
    rows = [json.loads(x) for x in per_sample.read_text().splitlines()]
    counts: dict[str, list[int]] = {}
    for r in rows:
        counts.setdefault(r["category"], [0, 0])
        counts[r["category"]][0] += r["valid"]
        counts[r["category"]][1] += 1
    summary = bfcl_summary({k: tuple(v) for k, v in counts.items()})
    sub, cats = summary["subscores"], summary["categories"]

    model = "org_model-x"  # the <model> folder of the inputs
    assert sorted(p.relative_to(out / "result" / model).as_posix() for p in (out / "result").rglob("*.json")) == [
        "live/BFCL_v4_live_simple_result.json", "multi_turn/BFCL_v4_multi_turn_base_result.json",
        "non_live/BFCL_v4_irrelevance_result.json", "non_live/BFCL_v4_simple_python_result.json"]
    score = (out / "score" / model / "non_live" / "BFCL_v4_simple_python_score.json").read_text().splitlines()
    header, *failures = map(json.loads, score)
    assert header == {"accuracy": 0.75, "correct_count": 3, "total_count": 4}
    assert [(f["id"], f["error_type"], f["model_result_raw"]) for f in failures] == [
        ("simple_python_2", "ast_decoder:decoder_failed", "garbage(")]
    mt = json.loads((out / "score" / model / "multi_turn" / "BFCL_v4_multi_turn_base_score.json").read_text()
                    .splitlines()[1])
    assert mt["error"]["error_type"] == "multi_turn:inference_error"

    (overall,) = _read(out / "score" / "data_overall.csv")
    assert list(overall) == COLUMNS_OVERALL
    assert overall["Rank"] == "1" and overall["Model"] == model
    assert overall["Overall Acc"] == f"{100 * summary['overall']['value']:.2f}%"  # shown even when incomplete
    assert overall["Non-Live AST Acc"] == _pct(sub["non_live"]) == "N/A"  # Java/JS and multiple were not run
    assert overall["Live Acc"] == f"{100 * sub['live']['value']:.2f}%" == "0.09%"  # unrun live: 0 x shipped size
    assert overall["Live Simple AST"] == "100.00%" and overall["Live Multiple AST"] == "N/A"
    assert overall["Multi Turn Acc"] == "0.00%" and overall["Multi Turn Base"] == "0.00%"
    assert overall["Irrelevance Detection"] == _pct(sub["hallucination"]) == "N/A"
    assert overall["Latency Mean (s)"] == "2.5" and overall["Total Cost ($)"] == "0.0"  # BFCL's self-served rule
    (non_live,) = _read(out / "score" / "data_non_live.csv")
    assert list(non_live) == COLUMNS_NON_LIVE
    assert non_live["Python Simple AST"] == f"{100 * cats['simple_python']['value']:.2f}%" == "75.00%"
    assert non_live["Irrelevance Detection"] == "100.00%" and non_live["Java Simple AST"] == "N/A"
    assert non_live["Non-Live Overall Acc"] == f"{100 * sub['non_live']['value']:.2f}%"
    (live,) = _read(out / "score" / "data_live.csv")
    assert live["Live Overall Acc"] == "0.09%" and live["AST Summary"] == "N/A" and live["Python Simple AST"] == "100.00%"
    (multi,) = _read(out / "score" / "data_multi_turn.csv")
    assert list(multi) == COLUMNS_MULTI_TURN and multi["Miss Func"] == "N/A"
    assert list(_read(out / "score" / "data_agentic.csv")[0]) == COLUMNS_AGENTIC


def test_tables_equal_bfcls_own_writer_over_our_score_files(tmp_path, monkeypatch):
    """BFCL's generate_leaderboard_csv, fed the score files we wrote, writes the same bytes (two models)."""
    from tests.official_bfcl import official

    official()  # stubbed model registry and a temp BFCL_PROJECT_ROOT, before bfcl_eval is imported
    import bfcl_eval.eval_checker.eval_runner_helper as helper

    ids = [e["id"] for c in ("simple_python", "parallel", "live_simple", "irrelevance")
           for e in data.load_entries(c, False)[:3]]
    first = [{"id": i, "category": data.category_of(i), "valid": k % 3 != 1, "errors": ["no"]} for k, i in enumerate(ids)]
    second = [{**r, "valid": not r["valid"]} for r in first[:7]]
    results = [{"id": i, "result": "x", "latency": 0.25 * (k + 1)} for k, i in enumerate(ids[:7])]
    out = tmp_path / "ours"
    write_layout(out, "other-model", first)
    write_layout(out, "tiny-model", second, results=results)
    registry = {name: types.SimpleNamespace(display_name=name, url="N/A", org="N/A", license="N/A",
                                            input_price=None, output_price=None)
                for name in ("other-model", "tiny-model")}
    monkeypatch.setattr(helper, "MODEL_CONFIG_MAPPING", registry)
    table: dict = {}
    helper.record_cost_latency(table, "tiny-model", results)  # BFCL reads latencies of the models it scores now
    helper.update_leaderboard_table_with_local_score_file(table, out / "score")
    reference = tmp_path / "bfcl"
    reference.mkdir()
    helper.generate_leaderboard_csv(table, reference)
    for name in TABLES:
        assert (out / "score" / name).read_text() == (reference / name).read_text(), name


def test_latency_cells_follow_bfcl_and_survive_one_value():
    assert latency_cells([]) == ("N/A",) * 4
    assert latency_cells([0, None, "x"]) == ("N/A",) * 4
    assert latency_cells([3.0]) == (0.0, 3.0, "N/A", 3.0)  # BFCL itself raises on one latency
    cost, mean, std, p95 = latency_cells([1.0, 2.0, 3.0, 4.0])
    assert (mean, std, p95) == (2.5, 1.29, 3.85)


def test_ranks_best_first_and_quotes_only_what_needs_it():
    rows = tables([ModelScores("weak", {"simple_python": (1, 4)}), ModelScores("a, b", {"simple_python": (3, 4)}),
                   ModelScores("none", {})])
    text = render_csv(rows["data_non_live.csv"])
    lines = text.split("\n")
    assert not text.endswith("\n") and lines[0].startswith("Rank,Model,Non-Live Overall Acc")
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3"]
    assert lines[1].startswith('1,"a, b",') and lines[2].startswith("2,weak,") and lines[3].startswith("3,none,0.00%")


class _Backend:
    """Right answers to triangle prompts, prose elsewhere; the second prompt of each batch fails."""

    name = "scripted"

    def info(self):
        return {"backend": self.name}

    def generate(self, prompts, params):
        out = []
        for i, p in enumerate(prompts):
            if i == 1:
                out.append(Completion(text="", error="server timed out", latency_s=0.5))
                continue
            text = "[calculate_triangle_area(base=10, height=5)]" if "triangle" in p.messages[-1]["content"] else "no"
            out.append(Completion(text=text, prompt_tokens=10, completion_tokens=5, latency_s=0.2 + i))
        return out


def test_run_directory_layout_equals_its_summary(tmp_path):
    cfg = RunConfig(tasks=["bfcl:simple_python", "bfcl:irrelevance"], out_dir=tmp_path / "run", limit=4,
                    batch_size=4, progress=False, gen=GenParams(), model_label="org/model-x (scripted)")
    summary = run(_Backend(), cfg).to_json()
    assert summary["tasks"]["bfcl:irrelevance"]["failed"] == 1
    out = tmp_path / "layout"
    write_bfcl_layout(tmp_path / "run", out)
    (overall,) = _read(out / "score" / "data_overall.csv")
    assert overall["Model"] == "org/model-x"
    assert overall["Overall Acc"] == f"{100 * summary['aggregates']['bfcl']['overall']['accuracy']:.2f}%"
    (non_live,) = _read(out / "score" / "data_non_live.csv")
    for task, column in (("bfcl:simple_python", "Python Simple AST"), ("bfcl:irrelevance", "Irrelevance Detection")):
        assert non_live[column] == f"{100 * summary['tasks'][task]['accuracy']:.2f}%"
    header = json.loads((out / "score" / "org_model-x" / "non_live" / "BFCL_v4_irrelevance_score.json")
                        .read_text().splitlines()[0])
    t = summary["tasks"]["bfcl:irrelevance"]
    assert (header["correct_count"], header["total_count"]) == (t["correct"], t["total"] + t["failed"])
    assert (out / "result" / "org_model-x" / "non_live" / "BFCL_v4_simple_python_result.json").is_file()


def test_refusals_are_one_line(tmp_path, capsys):
    files = _result_tree(tmp_path / "in")
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["score", "bfcl", str(files[0]), "--bfcl-layout", str(blocker)]) == 2
    assert "is a file" in capsys.readouterr().err
    loose = tmp_path / "BFCL_v4_simple_python_result.json"
    loose.write_text(files[-1].read_text())
    assert main(["score", "bfcl", str(loose), "--bfcl-layout", str(tmp_path / "x")]) == 2
    assert "--bfcl-model" in capsys.readouterr().err
    assert main(["score", "bfcl", str(loose), "--bfcl-layout", str(tmp_path / "x"), "--bfcl-model", "m"]) == 0
    assert (tmp_path / "x" / "score" / "m" / "non_live" / "BFCL_v4_simple_python_score.json").is_file()
    with pytest.raises(UserError, match="no summary.json"):
        write_bfcl_layout(tmp_path / "in", tmp_path / "y")
    with pytest.raises(UserError, match="model name"):
        write_bfcl_layout([{"id": "simple_python_0", "valid": True}], tmp_path / "y")
    with pytest.raises(UserError, match="cannot be a folder"):
        write_bfcl_layout([{"id": "simple_python_0", "valid": True}], tmp_path / "y", model="..")
    assert not (tmp_path / "y").exists()
