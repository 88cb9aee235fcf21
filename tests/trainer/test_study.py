"""The CPU study driver and its report: resumable stages, paired arms, the published files."""

from __future__ import annotations

import json

import pytest

from harness.rundir.store import task_file_name
from trainer.study import Study, StudySettings, main, run_name
from trainer.study_report import (
    build_study,
    read_items,
    read_items_csv,
    train_curves,
    write_items,
    write_report,
)


def _samples(path, verdicts):
    """Fake scored samples of an eval: id -> (format_ok, valid, correctness)."""
    path.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"id": i, "valid": v, "detail": {"format_ok": f, "correctness": c}}) for i, (f, v, c) in verdicts.items()]
    (path / task_file_name("toolrl:test")).write_text("\n".join(lines) + "\n")


def test_every_arm_of_a_seed_trains_on_the_same_prompts_in_the_same_order():
    s = StudySettings()
    a, b = s.rl_overrides("warm", 2), s.rl_overrides("warm", 2)
    assert a == b and "grpo.seed=2" in a and "model=warm" in a
    assert s.rl_overrides("warm", 3) != a


def test_dry_run_lists_every_stage_in_order(tmp_path, capsys):
    assert main(["--work", str(tmp_path / "w"), "--out", str(tmp_path / "o"), "--seeds", "1", "--dry-run"]) == 0
    out = capsys.readouterr().out
    order = [ln.split(":")[0] for ln in out.splitlines() if ln.startswith("[study]")]
    assert order == ["[study] warm-start", "[study] eval warm-start", "[study] eval warm-start-apibank",
                     "[study] train grpo-s1", "[study] eval grpo-s1", "[study] eval grpo-s1-apibank",
                     "[study] train rest-s1", "[study] eval rest-s1", "[study] eval rest-s1-apibank"]
    assert "--config rest " in out and "--set model=" in out


def test_restart_with_other_settings_is_refused(tmp_path, capsys):
    assert main(["--work", str(tmp_path), "--out", str(tmp_path / "o"), "--seeds", "1", "--dry-run"]) == 0
    assert main(["--work", str(tmp_path), "--out", str(tmp_path / "o"), "--seeds", "1", "--max-steps", "7", "--dry-run"]) == 2
    assert "other settings (max_steps)" in capsys.readouterr().err


def test_finished_stages_are_skipped_and_interrupted_ones_resumed(tmp_path, capsys):
    s = StudySettings(seeds=(1,), arms=("grpo",))
    work, board = tmp_path / "work", tmp_path / "board"
    st = Study(work, board, s, dry_run=True)
    write_items(board / "items" / "warm-start.csv", {"a": {"format_valid": 1, "accuracy": 0, "mean_correctness": 0.5}})
    (work / "runs" / "grpo-s1" / "checkpoint-5").mkdir(parents=True)
    st.evaluate("warm-start", work / "warm-start"), st.rl_run("grpo", 1)
    out = capsys.readouterr().out
    assert "eval warm-start:" not in out  # recorded in the board: skipped, even without the work folder
    assert "train grpo-s1" in out and out.rstrip().endswith("--resume")  # interrupted: resumed
    assert st.pending() == ["warm-start-apibank", "grpo-s1", "grpo-s1-apibank"]


def test_items_round_trip_through_the_board_csv(tmp_path):
    _samples(tmp_path / "e" / "samples", {"x": (1, 1, 2.5), "y": (0, 0, -1.25)})
    items = read_items(tmp_path / "e")
    write_items(tmp_path / "i.csv", items)
    assert read_items_csv(tmp_path / "i.csv") == items


def test_train_curves_turn_the_binary_format_reward_into_a_valid_share():
    recs = [{"rest/rollout": 1, "reward": 0.5, "rewards/toolrl_format/mean": 0.5, "reward/format_min": -1.0,
             "reward/format_max": 2.0, "completions/mean_length": 100}, {"loss": 1.0}]
    c = train_curves(recs)
    assert c["rollout"] == [1.0] and c["format_valid"] == [pytest.approx(0.5)] and c["mean_length"] == [100.0]


def test_study_json_schema_and_paired_comparisons(tmp_path):
    ids = [f"i{k}" for k in range(12)]
    start = {i: {"format_valid": 0.0, "accuracy": 0.0, "mean_correctness": -1.0} for i in ids}
    better = {i: {"format_valid": 1.0, "accuracy": float(k < 3), "mean_correctness": 0.5} for k, i in enumerate(ids)}
    runs = {("grpo", 1): start, ("grpo", 2): start, ("rest", 1): better, ("rest", 2): better}
    curves = {k: {"rollout": [1.0, 2.0], "reward": [0.1, 0.2], "format_valid": [0.1, 0.3], "mean_length": [9, 8]} for k in runs}
    study = build_study(start, runs, curves, ["grpo", "rest"])
    assert study["held_out"] == "toolrl:test" and study["start"]["n"] == 12
    assert {(r["method"], r["seed"], r["rollouts"]) for r in study["runs"]} == {("grpo", 1, 2), ("grpo", 2, 2), ("rest", 1, 2), ("rest", 2, 2)}
    assert set(study["runs"][0]["final"]) == {"format_valid", "accuracy", "mean_correctness", "n"}
    fv = {(c["a"], c["b"]): c for c in study["comparisons"] if c["metric"] == "format_valid"}
    assert fv[("rest", "grpo")]["delta"] == 1.0 and fv[("rest", "grpo")]["p"] < 0.001
    assert fv[("grpo", "start")]["delta"] == 0.0 and fv[("grpo", "start")]["p"] == 1.0
    assert study["arms"]["rest"]["format_valid"]["mean"] == 1.0


def test_write_report_publishes_every_file_from_the_board_alone(tmp_path):
    s = StudySettings(seeds=(1,), arms=("grpo", "rest"))
    board = tmp_path / "board"
    verdicts = {f"i{k}": {"format_valid": k % 2, "accuracy": int(k == 0), "mean_correctness": 0.5 * k} for k in range(6)}
    write_items(board / "items" / "warm-start.csv", verdicts)
    write_items(board / "items" / "warm-start-apibank.csv", verdicts)
    for arm in s.arms:
        write_items(board / "items" / f"{run_name(arm, 1)}.csv", verdicts)
        (board / "runs").mkdir(exist_ok=True)
        (board / "runs" / f"{run_name(arm, 1)}.json").write_text("{}")
        (board / "curves").mkdir(exist_ok=True)
        (board / "curves" / f"{run_name(arm, 1)}.jsonl").write_text(json.dumps(
            {"rest/rollout": 1, "reward": 0.3, "rewards/toolrl_format/mean": 0.0, "reward/format_min": -1,
             "reward/format_max": 1}) + "\n")
    study = write_report(board, s)
    for f in ("study.json", "board.md", "board.csv", "board.json", "index.html", "train_curves.png", "held_out.png",
              "README.md"):
        assert (board / f).is_file(), f
    assert json.loads((board / "study.json").read_text())["comparisons"] == study["comparisons"]
    assert [r["train_format_valid"] for r in study["runs"]] == [[0.5], [0.5]]
    readme = (board / "README.md").read_text()
    assert "rest seed 1" in readme and "python -m trainer.study" in readme and "warm-start" in readme


def test_training_cost_sums_every_train_stage_of_a_run_and_says_when_cpu_was_not_recorded():
    from trainer.study_report import render_costs, render_readme, training_costs

    stages = [{"stage": "train grpo-s1", "wall_s": 600.0, "load_start": 1, "load_end": 2, "finished": "t"},
              {"stage": "train grpo-s1", "wall_s": 200.0, "cpu_s": 390.0, "load_start": 1, "load_end": 2, "finished": "t"},
              {"stage": "train rest-s1", "wall_s": 900.0, "cpu_s": 1700.0, "load_start": 1, "load_end": 2, "finished": "t"},
              {"stage": "eval rest-s1", "wall_s": 100.0, "cpu_s": 180.0, "load_start": 1, "load_end": 2, "finished": "t"}]
    study = {"runs": [{"method": "grpo", "seed": 1, "rollouts": 20, "train_step_time": [50.0, float("nan"), 30.0, 40.0]},
                      {"method": "rest", "seed": 1, "rollouts": 20}],
             "stages": stages, "total_wall_s": 1800.0, "total_cpu_s": 2270.0, "settings": {}}
    costs = {c["run"]: c for c in training_costs(study)}
    assert costs["grpo-s1"] == {"run": "grpo-s1", "rollouts": 20, "wall_s": 800.0, "cpu_s": None,
                                "median_step_s": 40.0, "fastest_step_s": 30.0}
    assert costs["rest-s1"]["wall_s"] == 900.0 and costs["rest-s1"]["cpu_s"] == 1700.0
    table = "\n".join(render_costs(study))
    assert "| grpo-s1 | 13m20s | 40 s | 40 s | 30 s | — |" in table
    assert "| rest-s1 | 15m00s | 45 s | — | — | 28m20s |" in table
    study["runs"] = []  # the held-out tables need finished runs' figures; the cost lines do not
    assert "CPU time 37m50s" in render_readme(study, [])
