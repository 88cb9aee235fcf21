"""Boards under issue 19: failed generations counted wrong (and --exclude-failed), a baseline row with paired
differences by item id, training boards against their start, "unpaired" without samples, the taxonomy."""

from __future__ import annotations

import csv
import io
import json
from math import comb

import pytest

from harness.cli import main as cli_main
from harness.leaderboard.board import make_board
from harness.leaderboard.collect import collect
from harness.leaderboard.render_md import render_csv, render_markdown
from harness.records import RunSummary
from harness.rundir.store import RunStore
from harness.stats.intervals import wilson
from harness.summary import benchmark_aggregates, task_summary
from harness.types import UserError

L1, L2 = "apibank:level-1", "apibank:level-2"


def rec(task: str, i: int, ok: bool, failed: bool = False, error: str = "name_mismatch", repeat: int = 0) -> dict:
    return {"id": f"item{i}", "task": task, "repeat": repeat, "valid": ok and not failed,
            "error_type": None if ok or failed else error, "backend_error": "timeout" if failed else None}


def recs(task: str, outcomes: list[int], failed: set[int] = frozenset(), start: int = 0) -> list[dict]:
    return [rec(task, start + i, bool(o), i + start in failed) for i, o in enumerate(outcomes)]


def write_run(run_dir, by_task: dict[str, list[dict]], samples: bool = True, model: str = "m") -> None:
    """A run directory as `rest eval` writes it (samples/*.jsonl in the given order, summary.json)."""
    store = RunStore(run_dir)
    store.prepare()
    per = {}
    for task, rs in by_task.items():
        if samples:
            store.append(task, rs)
        per[task] = task_summary(rs)
    store.write_json("summary.json", RunSummary(model=model, backend={"backend": "fake"}, tasks=per,
                                                aggregates=benchmark_aggregates(per)).to_json())


def board_of(paths, **kw):
    return make_board(collect(paths), name="t", n_boot=kw.pop("n_boot", 300), **kw)


def rows_of(board) -> dict[str, dict]:
    return {r["id"]: r for r in board["rows"]}


def mcnemar_by_hand(b: int, c: int) -> float:
    n, k = b + c, min(b, c)
    return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2 ** n)


# A: 12 right of 30. B: items 12..18 now right (7), items 0 and 1 now wrong (2), plus 5 items A never ran.
A_L1 = [1] * 12 + [0] * 18
B_L1 = [0, 0] + [1] * 10 + [1] * 7 + [0] * 11


@pytest.fixture
def pair(tmp_path):
    write_run(tmp_path / "runs" / "a", {L1: recs(L1, A_L1)})
    b = recs(L1, B_L1) + recs(L1, [1] * 5, start=30)
    write_run(tmp_path / "runs" / "b", {L1: list(reversed(b))})  # another order: pairing is by id
    return tmp_path / "runs"


def test_baseline_delta_and_mcnemar_p_on_known_items(pair):
    board = board_of([pair], baseline="a")
    rows = rows_of(board)
    assert rows["a"]["baseline"] and not rows["b"]["baseline"] and rows["b"]["vs"] == "a"
    assert board["baseline"] == "a" and "paired" not in rows["a"]["cells"][L1]
    p = rows["b"]["cells"][L1]["paired"]
    assert p["delta"] == pytest.approx(5 / 30) and p["n_items"] == 30  # the 5 extra items are not common
    assert (p["base_only"], p["row_only"], p["test"]) == (2, 7, "mcnemar-exact")
    assert p["p"] == pytest.approx(mcnemar_by_hand(2, 7)) == pytest.approx(92 / 512)
    assert p["ci95"][0] < 5 / 30 < p["ci95"][1] and p["vs"] == "a"
    overall = rows["b"]["cells"]["apibank/overall"]["paired"]  # one level: the same items, the same test
    assert overall["delta"] == pytest.approx(5 / 30) and overall["p"] == pytest.approx(p["p"])
    md = render_markdown(board)
    assert "Δ +16.7 [" in md and "p=0.18 on 30 common" in md and "| Δ vs |" in md and "| baseline |" in md
    line = {r["id"]: r for r in csv.DictReader(io.StringIO(render_csv(board)))}
    assert line["b"][f"{L1} delta %"] == "16.6667" and float(line["b"][f"{L1} p"]) == pytest.approx(92 / 512, abs=1e-6)
    assert (line["b"][f"{L1} paired test"], line["b"][f"{L1} paired n"], line["b"]["vs"]) == ("mcnemar-exact", "30", "a")
    assert line["a"]["baseline"] == "1" and line["a"][f"{L1} delta %"] == ""


def test_baseline_by_label_and_unknown_names(pair):
    assert rows_of(board_of([pair], baseline="b"))["a"]["cells"][L1]["paired"]["delta"] == pytest.approx(-5 / 30)
    with pytest.raises(UserError, match="--baseline 'nope' names no single row.*a, b|b, a"):
        board_of([pair], baseline="nope")


def test_micro_aggregate_pools_the_levels(tmp_path):
    write_run(tmp_path / "a", {L1: recs(L1, A_L1), L2: recs(L2, [0] * 10)})
    write_run(tmp_path / "b", {L1: recs(L1, B_L1), L2: recs(L2, [1] * 3 + [0] * 7)})
    cell = rows_of(board_of([tmp_path], baseline="a"))["b"]["cells"]["apibank/overall"]["paired"]
    assert cell["delta"] == pytest.approx(8 / 40) and cell["n_items"] == 40
    assert (cell["base_only"], cell["row_only"], cell["test"]) == (2, 10, "mcnemar-exact")
    assert cell["p"] == pytest.approx(mcnemar_by_hand(2, 10)) == pytest.approx(158 / 4096)


def test_weighted_aggregate_uses_the_weighted_sign_flip(tmp_path):
    sp, mu = "bfcl:simple_python", "bfcl:multiple"
    write_run(tmp_path / "a", {sp: recs(sp, [0, 1, 0, 0]), mu: recs(mu, [0, 0])})
    write_run(tmp_path / "b", {sp: recs(sp, [1, 0, 0, 0]), mu: recs(mu, [1, 0])})
    rows = rows_of(board_of([tmp_path], baseline="a"))
    a, b = rows["a"]["cells"], rows["b"]["cells"]
    nl = b["bfcl/non_live"]["paired"]
    # non_live = mean(simple, multiple, 0, 0), simple = mean(simple_python, 0, 0): 1/48 and 7/48
    assert b["bfcl/non_live"]["accuracy"] - a["bfcl/non_live"]["accuracy"] == pytest.approx(nl["delta"])
    assert nl["delta"] == pytest.approx(6 / 48) and nl["test"] == "sign-flip (weighted)" and nl["n_items"] == 6
    # item differences weigh +1/48, -1/48 (simple_python) and +1/8 (multiple): 6 of the 8 sign patterns reach |1/8|
    assert nl["p"] == pytest.approx(0.75)
    assert b["bfcl/overall"]["paired"]["delta"] == pytest.approx(0.1 * 6 / 48)
    assert b["bfcl/overall"]["paired"]["p"] == pytest.approx(0.75)
    assert b[sp]["paired"]["p"] == 1.0 and b[sp]["paired"]["delta"] == 0  # one flip each way
    simple = b["bfcl/simple"]["paired"]  # one category: equal weights, McNemar, scaled by its 1/3 weight
    assert simple["delta"] == 0 and simple["test"] == "mcnemar-exact"


def test_repeats_use_the_sign_flip_test(tmp_path):
    def two(task, outs):
        return [rec(task, i, bool(o), repeat=r) for i, pair_ in enumerate(outs) for r, o in enumerate(pair_)]
    write_run(tmp_path / "a", {L1: two(L1, [(0, 0)] * 6 + [(1, 1)] * 4)})
    write_run(tmp_path / "b", {L1: two(L1, [(1, 1)] * 3 + [(1, 0)] * 3 + [(1, 1)] * 4)})
    p = rows_of(board_of([tmp_path], baseline="a"))["b"]["cells"][L1]["paired"]
    assert p["test"] == "sign-flip" and p["delta"] == pytest.approx(4.5 / 10) and p["n_items"] == 10
    assert p["p"] == pytest.approx(2 / 64)  # six items moved up, none down: 2 of 2^6 sign patterns


def test_runs_without_samples_are_unpaired(tmp_path):
    write_run(tmp_path / "a", {L1: recs(L1, A_L1)})
    write_run(tmp_path / "counts", {L1: recs(L1, B_L1)}, samples=False)
    write_run(tmp_path / "edited", {L1: recs(L1, B_L1)})
    path = RunStore(tmp_path / "edited").path(L1)
    path.write_text("".join(path.read_text().splitlines(keepends=True)[1:]))  # no longer matches its counts
    board = board_of([tmp_path], baseline="a")
    rows = rows_of(board)
    for run in ("counts", "edited"):
        for key in (L1, "apibank/overall"):
            assert rows[run]["cells"][key]["paired"] == {"vs": "a", "unpaired": "no per-item samples"}
        assert rows[run]["cells"][L1]["accuracy"] == pytest.approx(17 / 30)  # the counts still make the cell
    md = render_markdown(board)
    assert md.count("Δ unpaired") == 4 and "Δ +" not in md
    line = {r["id"]: r for r in csv.DictReader(io.StringIO(render_csv(board)))}
    assert line["counts"][f"{L1} paired test"] == "unpaired: no per-item samples" and line["counts"][f"{L1} delta %"] == ""
    back = rows_of(board_of([tmp_path], baseline="counts"))["a"]["cells"][L1]["paired"]
    assert back["unpaired"] == "no per-item samples in the baseline"


def test_failed_generations_count_wrong_and_exclude_failed_is_the_other_figure(tmp_path):
    write_run(tmp_path / "a", {L1: recs(L1, [1] * 6 + [0] * 4, failed={6, 7}), L2: recs(L2, [1, 0, 0, 0])})
    run = collect([tmp_path / "a"])[0]
    assert run["outcomes"][L1] == [1] * 6 + [0] * 4  # through RunStore.outcomes: a failed sample is 0
    board = board_of([tmp_path])
    row = board["rows"][0]
    cell = row["cells"][L1]
    assert (cell["accuracy"], cell["total"], cell["failed"]) == (0.6, 10, 2)
    assert cell["ci95"] == pytest.approx(list(wilson(6, 10)))
    assert row["failed"] == 2 and row["items"] == 14 and not board["exclude_failed"]
    assert row["cells"]["apibank/overall"]["accuracy"] == pytest.approx(7 / 14)
    assert row["taxonomy"]["apibank"]["counts"]["generation_failed"] == 2
    md = render_markdown(board)
    assert "| run | model | items | failed |" in md and "n=10 (2 failed)" in md and "EXCLUDED" not in md
    assert board["notes"][0].startswith("Accuracies count a failed generation")

    excl = board_of([tmp_path], exclude_failed=True)
    cell = excl["rows"][0]["cells"][L1]
    assert (cell["accuracy"], cell["total"], cell["failed"]) == (0.75, 8, 2)
    assert cell["ci95"] == pytest.approx(list(wilson(6, 8)))
    assert excl["rows"][0]["cells"]["apibank/overall"]["accuracy"] == pytest.approx(7 / 12)
    assert excl["rows"][0]["taxonomy"]["apibank"]["counts"]["generation_failed"] == 0
    assert excl["exclude_failed"] and excl["notes"][0].startswith("FAILED GENERATIONS EXCLUDED")
    assert render_markdown(excl).splitlines()[0] == "# Leaderboard: t (failed generations EXCLUDED)"
    assert next(csv.DictReader(io.StringIO(render_csv(excl))))["failed excluded"] == "1"


def test_a_failed_item_is_wrong_when_paired_and_dropped_with_exclude_failed(tmp_path):
    write_run(tmp_path / "a", {L1: recs(L1, [1] * 10)})
    write_run(tmp_path / "b", {L1: recs(L1, [1] * 10, failed={3})})
    p = rows_of(board_of([tmp_path], baseline="a"))["b"]["cells"][L1]["paired"]
    assert (p["delta"], p["n_items"], p["base_only"], p["row_only"]) == (pytest.approx(-0.1), 10, 1, 0)
    p = rows_of(board_of([tmp_path], baseline="a", exclude_failed=True))["b"]["cells"][L1]["paired"]
    assert (p["delta"], p["n_items"], p["p"]) == (0, 9, 1.0)


def test_training_board_compares_each_checkpoint_with_the_start(tmp_path):
    train = tmp_path / "train"
    for step, outs in ((5, A_L1), (10, B_L1), (20, [1] * 30)):
        write_run(train / f"checkpoint-{step}" / "eval", {L1: recs(L1, outs)})
    write_run(tmp_path / "other", {L1: recs(L1, [0] * 30)})
    rows = rows_of(board_of([train, tmp_path / "other"]))
    assert rows["train/checkpoint-5"]["baseline"] and not rows["other"]["baseline"]
    assert "paired" not in rows["other"]["cells"][L1]  # a lone run has nothing to compare with by default
    p10 = rows["train/checkpoint-10"]["cells"][L1]["paired"]
    assert p10["vs"] == "train/checkpoint-5" and rows["train/checkpoint-10"]["vs"] == "train @ step 5"
    assert p10["delta"] == pytest.approx(5 / 30) and p10["p"] == pytest.approx(92 / 512)
    assert rows["train/checkpoint-20"]["cells"][L1]["paired"]["delta"] == pytest.approx(18 / 30)

    write_run(train / "base" / "eval", {L1: recs(L1, [0] * 30)})  # the starting model, evaluated beside them
    rows = rows_of(board_of([train]))
    assert rows["train/base"]["label"] == "train @ base" and rows["train/base"]["step"] == 0
    assert rows["train/base"]["baseline"] and not rows["train/checkpoint-5"]["baseline"]
    assert rows["train/checkpoint-5"]["cells"][L1]["paired"]["delta"] == pytest.approx(12 / 30)

    rows = rows_of(board_of([train], baseline="train/checkpoint-20"))  # an explicit baseline wins
    assert rows["train/checkpoint-20"]["baseline"] and not rows["train/base"]["baseline"]
    assert rows["train/base"]["cells"][L1]["paired"]["delta"] == pytest.approx(-1)


def test_a_run_named_base_outside_a_training_run_is_a_plain_run(tmp_path):
    write_run(tmp_path / "runs" / "base" / "eval", {L1: recs(L1, A_L1)})
    [row] = board_of([tmp_path / "runs"])["rows"]
    assert (row["id"], row["step"], row["baseline"]) == ("eval", None, False)


def test_taxonomy_section_in_markdown_csv_and_json(tmp_path):
    rs = recs(L1, [1, 1, 0, 0, 0, 0], failed={5})
    rs[2]["error_type"], rs[3]["error_type"], rs[4]["error_type"] = "name_mismatch", "params_value_mismatch", "json_error"
    write_run(tmp_path / "a", {L1: rs})
    board = board_of([tmp_path])
    tax = board["rows"][0]["taxonomy"]["apibank"]
    assert tax["wrong"] == 4 and tax["shares"]["wrong_function"] == 0.25 and tax["shares"]["format"] == 0.25
    assert [k for k, _ in board["taxonomy_categories"]][-2:] == ["generation_failed", "other"]
    md = render_markdown(board)
    section = md.split("## Failure taxonomy (% of wrong answers)")[1]
    assert "| run | wrong | wrong function | wrong/missing parameter | wrong value |" in section
    assert "| a | 4 | 25.0 | 0.0 | 25.0 | 0.0 | 25.0 | 0.0 | 25.0 | 0.0 |" in section
    line = next(csv.DictReader(io.StringIO(render_csv(board))))
    assert line["taxonomy apibank wrong"] == "4" and line["taxonomy apibank generation_failed %"] == "25.0000"


def test_cli_flags(pair, tmp_path, capsys):
    out = tmp_path / "board"
    assert cli_main(["leaderboard", "build", str(pair), "--out", str(out), "--n-boot", "50", "--baseline", "a",
                     "--exclude-failed"]) == 0
    board = json.loads((out / "board.json").read_text())
    assert board["baseline"] == "a" and board["exclude_failed"]
    printed = capsys.readouterr().out
    assert "[baseline]" in printed and "Δ +16.7" in printed and "EXCLUDED" in printed
    assert "Δ +16.7" in (out / "README.md").read_text()
    assert cli_main(["leaderboard", "build", str(pair), "--out", str(out), "--baseline", "zzz"]) == 2
    err = capsys.readouterr().err
    assert "--baseline 'zzz'" in err and "Traceback" not in err
