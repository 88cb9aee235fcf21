"""Leaderboard build: collection of run dirs, intervals, reference rows, Markdown/CSV/JSON files, CLI."""

from __future__ import annotations

import csv
import io
import json
import random

import pytest

from harness.cli import main as cli_main
from harness.leaderboard.board import make_board
from harness.leaderboard.build import build_board_files
from harness.leaderboard.collect import collect
from harness.leaderboard.references import REFERENCE_ONLY_COLUMNS, reference_rows
from harness.leaderboard.render_html import render_html
from harness.leaderboard.render_md import render_csv, render_markdown
from harness.records import RunSummary
from harness.rundir.store import RunStore
from harness.stats.intervals import wilson
from harness.summary import benchmark_aggregates, task_summary
from harness.types import UserError


def make_run(run_dir, outcomes: dict[str, list[int]], model: str = "m", samples: bool = True,
             available: dict[str, int] | None = None) -> dict:
    """A run directory as `rest eval` writes it: samples/*.jsonl and summary.json (same summary code)."""
    store = RunStore(run_dir)
    store.prepare()
    per_task = {}
    for task, outs in outcomes.items():
        recs = [{"id": f"{task}_{i}", "task": task, "valid": bool(o), "error_type": None if o else "wrong",
                 "backend_error": None} for i, o in enumerate(outs)]
        if samples:
            store.append(task, recs)
        result = task_summary(recs)
        result.format = "prompting"
        if available is not None:
            result.available = available[task]
        per_task[task] = result
    summary = RunSummary(model=model, backend={"backend": "fake"}, tasks=per_task,
                         aggregates=benchmark_aggregates(per_task)).to_json()
    if available is None:  # as summaries were written before they had `planned` and `available`
        for entry in summary["tasks"].values():
            del entry["planned"], entry["available"]
    store.write_json("summary.json", summary)
    return summary


def outs(n: int, p: float, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [1 if rng.random() < p else 0 for _ in range(n)]


APIBANK = {"apibank:level-1": outs(399, 0.5, 1), "apibank:level-2": outs(67, 0.4, 2), "apibank:level-3": outs(131, 0.3, 3)}
BFCL = {"bfcl:simple_python": outs(400, 0.6, 4), "bfcl:multiple": outs(200, 0.5, 5),
        "bfcl:irrelevance": outs(240, 0.7, 6), "bfcl:live_simple": outs(258, 0.4, 7)}


def board_of(paths, **kw):
    return make_board(collect(paths), name="t", n_boot=kw.pop("n_boot", 200), **kw)


def test_single_categories_carry_n_and_wilson(tmp_path):
    make_run(tmp_path / "a", APIBANK)
    row = board_of([tmp_path / "a"])["rows"][0]
    cell = row["cells"]["apibank:level-2"]
    c = sum(APIBANK["apibank:level-2"])
    assert (cell["correct"], cell["total"], cell["method"]) == (c, 67, "wilson")
    assert cell["ci95"] == pytest.approx(list(wilson(c, 67)))
    assert cell["accuracy"] == pytest.approx(c / 67)


def test_apibank_overall_is_micro_with_bootstrap_interval(tmp_path):
    make_run(tmp_path / "a", APIBANK)
    cell = board_of([tmp_path / "a"], n_boot=400)["rows"][0]["cells"]["apibank/overall"]
    c = sum(sum(v) for v in APIBANK.values())
    assert (cell["correct"], cell["total"], cell["method"]) == (c, 597, "bootstrap")
    assert cell["accuracy"] == pytest.approx(c / 597)
    lo, hi = cell["ci95"]
    assert lo < c / 597 < hi
    wlo, whi = wilson(c, 597)  # a stratified bootstrap of a micro mean is close to the pooled binomial width
    assert abs((hi - lo) - (whi - wlo)) < 0.02


def test_bfcl_aggregates_match_bfcl_summary_and_are_marked_incomplete(tmp_path):
    from harness.bfcl.metrics import bfcl_summary

    make_run(tmp_path / "a", BFCL)
    cells = board_of([tmp_path / "a"])["rows"][0]["cells"]
    ref = bfcl_summary({k.split(":")[1]: (sum(v), len(v)) for k, v in BFCL.items()})
    assert cells["bfcl/overall"]["accuracy"] == pytest.approx(ref["overall"]["value"])
    assert cells["bfcl/non_live"]["accuracy"] == pytest.approx(ref["subscores"]["non_live"]["value"])
    assert cells["bfcl/overall"]["complete"] is False  # multi-turn and agentic were not run
    assert cells["bfcl/overall"]["total"] == 400 + 200 + 240 + 258  # n counts the items actually run
    assert cells["bfcl/live"]["total"] == 258 and cells["bfcl/non_live"]["total"] == 600
    assert "bfcl/multi_turn" not in cells and "bfcl/agentic" not in cells  # nothing measured feeds them
    lo, hi = cells["bfcl/overall"]["ci95"]
    assert lo < cells["bfcl/overall"]["accuracy"] < hi


def test_outcomes_read_from_samples_or_counts(tmp_path):
    make_run(tmp_path / "with", APIBANK)
    make_run(tmp_path / "without", APIBANK, samples=False)
    runs = {r["id"]: r for r in collect([tmp_path])}
    assert set(runs["with"]["outcome_origin"].values()) == {"samples"}
    assert set(runs["without"]["outcome_origin"].values()) == {"counts"}
    assert runs["with"]["outcomes"]["apibank:level-2"] == APIBANK["apibank:level-2"]
    # within-category resampling depends only on counts: same distribution, so nearly the same interval
    board = make_board(list(runs.values()), name="t", n_boot=400)
    by_id = {r["id"]: r for r in board["rows"]}
    a, b = by_id["with"]["cells"]["apibank/overall"], by_id["without"]["cells"]["apibank/overall"]
    assert a["accuracy"] == b["accuracy"]
    assert a["ci95"] == pytest.approx(b["ci95"], abs=0.015)


def test_training_dir_gives_one_row_per_checkpoint(tmp_path):
    for step, p in ((10, 0.2), (20, 0.5)):
        make_run(tmp_path / "train" / f"checkpoint-{step}" / "eval", {"apibank:level-1": outs(30, p, step)})
    make_run(tmp_path / "train" / "leaderboard" / "junk", {"apibank:level-1": [1]})  # board outputs are skipped
    rows = board_of([tmp_path / "train"])["rows"]
    assert sorted((r["run_group"], r["step"]) for r in rows) == [("train", 10), ("train", 20)]
    assert {r["id"] for r in rows} == {"train/checkpoint-10", "train/checkpoint-20"}


def test_same_run_names_in_two_parents_are_disambiguated(tmp_path):
    make_run(tmp_path / "x" / "run", APIBANK)
    make_run(tmp_path / "y" / "run", APIBANK)
    assert sorted(r["id"] for r in collect([tmp_path / "x", tmp_path / "y"])) == ["x/run", "y/run"]


def test_no_summaries_is_a_user_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no run summaries"):
        collect([tmp_path / "empty"])
    with pytest.raises(UserError, match="does not exist"):
        collect([tmp_path / "missing"])


def test_measured_rows_sorted_by_primary_and_references_kept_apart(tmp_path):
    make_run(tmp_path / "weak", {k: [0] * len(v) for k, v in APIBANK.items()} | {k: [1] * 5 for k in ["x:y"]})
    make_run(tmp_path / "strong", APIBANK)
    board = board_of([tmp_path], references=reference_rows(), reference_only_columns=REFERENCE_ONLY_COLUMNS)
    assert board["primary"] == "apibank/overall"
    measured = [r for r in board["rows"] if not r["reference"]]
    refs = [r for r in board["rows"] if r["reference"]]
    assert [r["id"] for r in measured] == ["strong", "weak"]
    assert refs and board["rows"][: len(measured)] == measured  # refs after, though they score higher
    assert all(c["method"] == "reported" for r in refs for c in r["cells"].values())
    assert not any(k.startswith("bfcl-v3/") for r in refs for k in r["cells"])  # no BFCL measured -> no V3 refs
    l2 = next(r for r in refs if "3B-Instruct GRPO" in r["label"] and "Qwen" in r["label"])["cells"]["apibank:level-2"]
    assert l2["accuracy"] == pytest.approx(0.6716) and l2["total"] == 67
    md = render_markdown(board)
    measured_part, ref_part = md.split("## Reference figures")
    assert "GRPO cold start" not in measured_part and "GRPO cold start" in ref_part
    assert "| strong |" in measured_part


def test_references_absent_unless_asked(tmp_path):
    make_run(tmp_path / "a", APIBANK | BFCL)
    assert not any(r["reference"] for r in board_of([tmp_path])["rows"])
    board = board_of([tmp_path], references=reference_rows(), reference_only_columns=REFERENCE_ONLY_COLUMNS)
    assert any("bfcl-v3/overall" in r["cells"] for r in board["rows"] if r["reference"])
    assert {"bfcl-v3/overall"} <= {c["key"] for c in board["columns"]}


def test_csv_round_trip(tmp_path):
    make_run(tmp_path / "a", APIBANK, model="model-a")
    board = board_of([tmp_path])
    rows = list(csv.DictReader(io.StringIO(render_csv(board))))
    assert len(rows) == 1 and rows[0]["model"] == "model-a"
    cell = board["rows"][0]["cells"]["apibank:level-1"]
    assert float(rows[0]["apibank:level-1 %"]) == pytest.approx(100 * cell["accuracy"], abs=1e-4)
    assert float(rows[0]["apibank:level-1 lo %"]) == pytest.approx(100 * cell["ci95"][0], abs=1e-4)
    assert rows[0]["apibank:level-1 n"] == "399" and rows[0]["apibank/overall method"] == "bootstrap"


def test_html_embeds_data_safely(tmp_path):
    make_run(tmp_path / "a", APIBANK, model="evil</script><b>x")
    page = render_html(board_of([tmp_path]))
    assert page.count("</script>") == 2  # the JSON block and the code block, nothing from the data
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page


def test_cli_build_writes_all_files(tmp_path, capsys):
    make_run(tmp_path / "runs" / "a", APIBANK, model="model-a")
    out = tmp_path / "boards" / "demo"
    assert cli_main(["leaderboard", "build", str(tmp_path / "runs"), "--out", str(out), "--n-boot", "100",
                     "--references"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "board.csv", "board.json", "index.html"]
    board = json.loads((out / "board.json").read_text())
    assert board["name"] == "demo" and board["bootstrap"]["n_boot"] == 100
    assert "model-a" in capsys.readouterr().out
    assert cli_main(["leaderboard", "build", str(tmp_path / "nothing"), "--out", str(out)]) == 2


def test_build_is_deterministic(tmp_path):
    make_run(tmp_path / "a", APIBANK | BFCL)
    b1 = build_board_files([tmp_path / "a"], tmp_path / "o1", n_boot=100)
    b2 = build_board_files([tmp_path / "a"], tmp_path / "o2", n_boot=100)
    assert b1["rows"] == b2["rows"]


def test_subset_rows_say_how_many_items_of_the_tasks_they_cover(tmp_path):
    subset = {k: v[:20] for k, v in APIBANK.items()}
    make_run(tmp_path / "sub", subset, available={k: len(v) for k, v in APIBANK.items()})
    make_run(tmp_path / "full", APIBANK, available={k: len(v) for k, v in APIBANK.items()})
    make_run(tmp_path / "old", APIBANK)  # a summary written before `available` existed
    board = board_of([tmp_path])
    rows = {r["id"]: r for r in board["rows"]}
    assert (rows["sub"]["items"], rows["sub"]["items_of"], rows["sub"]["coverage"]) == (60, 597, "60 of 597")
    assert (rows["full"]["items"], rows["full"]["items_of"], rows["full"]["coverage"]) == (597, 597, "597")
    assert (rows["old"]["items_of"], rows["old"]["coverage"]) == (None, "597")
    assert any(n.startswith("Rows whose items read 'k of N'") for n in board["notes"])
    md = render_markdown(board)
    assert "| run | model | items |" in md and "| 60 of 597 |" in md and "Rows whose items read" in md
    by_id = {r["id"]: r for r in csv.DictReader(io.StringIO(render_csv(board)))}
    assert (by_id["sub"]["items"], by_id["sub"]["items_of"], by_id["old"]["items_of"]) == ("60", "597", "")
    make_run(tmp_path / "only_full" / "a", APIBANK, available={k: len(v) for k, v in APIBANK.items()})
    assert not any("k of N" in n for n in board_of([tmp_path / "only_full"])["notes"])


def test_sort_flag_ranks_by_the_named_column_and_rejects_unknown_ones(tmp_path, capsys):
    make_run(tmp_path / "runs" / "good_l1", {"apibank:level-1": [1] * 8 + [0] * 2, "bfcl:simple_python": [0] * 10})
    make_run(tmp_path / "runs" / "good_bfcl", {"apibank:level-1": [0] * 10, "bfcl:simple_python": [1] * 9 + [0]})
    default = board_of([tmp_path / "runs"])
    assert default["primary"] == "bfcl/overall"  # both overalls incomplete: the first candidate present
    assert [r["id"] for r in default["rows"]] == ["good_bfcl", "good_l1"]
    by_l1 = board_of([tmp_path / "runs"], sort="apibank:level-1")
    assert by_l1["primary"] == "apibank:level-1" and [r["id"] for r in by_l1["rows"]] == ["good_l1", "good_bfcl"]
    with pytest.raises(UserError, match="not a measured column.*apibank:level-1"):
        board_of([tmp_path / "runs"], sort="apibank:level-9")
    out = tmp_path / "board"
    assert cli_main(["leaderboard", "build", str(tmp_path / "runs"), "--out", str(out), "--n-boot", "50",
                     "--sort", "apibank:level-1"]) == 0
    assert json.loads((out / "board.json").read_text())["primary"] == "apibank:level-1"
    assert cli_main(["leaderboard", "build", str(tmp_path / "runs"), "--out", str(out), "--sort", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--sort 'nope' is not a measured column" in err and "Traceback" not in err
