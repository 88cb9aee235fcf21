"""Checkpoint evaluation during training: summaries, metrics.jsonl, W&B, leaderboard, failures, real Trainer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness import tasks as registry
from harness.records import Prompt, Scored
from harness.types import Sample, UserError, Verdict
from trainer.eval_callback import CheckpointEvalCallback
from trainer.eval_record import metrics_from_summary


class ParityTask:
    """Sample i is correct iff i is even, whatever the model writes: accuracy is known (ceil(n/2)/n)."""

    name = "test:parity"
    formats = ("prompting",)

    def samples(self):
        return [Sample(id=f"p{i}", task=self.name, messages=[{"role": "user", "content": f"say {i}"}],
                       ground_truth=i % 2 == 0) for i in range(6)]

    def prompt(self, sample, fmt):
        return Prompt(messages=sample.messages)

    def score(self, sample, completion, fmt, tool_calls=None):
        return Scored(Verdict(valid=bool(sample.ground_truth), error_type=None if sample.ground_truth else "odd"))


@pytest.fixture(autouse=True)
def parity_task():
    registry.register("test:parity", ParityTask)
    yield
    registry.TASKS.unregister("test:parity")


def fake_save(output_dir: Path, step: int, model_dir: Path | None) -> tuple[SimpleNamespace, SimpleNamespace]:
    ckpt = output_dir / f"checkpoint-{step}"
    if model_dir is not None:
        shutil.copytree(model_dir, ckpt)
    else:
        ckpt.mkdir(parents=True)  # a checkpoint without weights: evaluation must fail, not training
    return SimpleNamespace(output_dir=str(output_dir)), SimpleNamespace(global_step=step, is_world_process_zero=True)


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_inprocess_eval_writes_summary_metrics_and_board(tmp_path, tiny_model_dir):
    import torch

    out = tmp_path / "run1"
    out.mkdir()
    (out / "metrics.jsonl").write_text(json.dumps({"step": 1, "train/loss": 2.0}) + "\n")  # trainer/metrics.py's line
    cb = CheckpointEvalCallback(["test:parity"], limit=4, max_new_tokens=4, batch_size=2, device="cpu", n_boot=50)
    args, state = fake_save(out, 3, tiny_model_dir)
    rng = torch.random.get_rng_state()
    cb.on_save(args, state, control=None)
    assert torch.equal(rng, torch.random.get_rng_state())  # evaluation seeding does not leak into training
    summary = json.loads((out / "checkpoint-3" / "eval" / "summary.json").read_text())
    assert summary["schema"] == "rest-harness/summary/v1"
    assert summary["model"] == str(out / "checkpoint-3")
    s = summary["tasks"]["test:parity"]
    assert (s["correct"], s["total"]) == (2, 4) and len(s["ci95"]) == 2
    recs = lines(out / "metrics.jsonl")
    assert recs[0] == {"step": 1, "train/loss": 2.0}  # appended, not overwritten
    assert recs[1]["step"] == 3 and recs[1]["checkpoint"] == "checkpoint-3"
    assert recs[1]["eval/test:parity"] == 0.5 and "eval_error" not in recs[1]
    board = json.loads((out / "leaderboard" / "board.json").read_text())
    (row,) = board["rows"]
    assert (row["id"], row["step"], row["run_group"]) == ("run1/checkpoint-3", 3, "run1")
    assert row["cells"]["test:parity"]["total"] == 4
    assert (out / "leaderboard" / "index.html").is_file()


def test_failed_eval_is_recorded_and_next_checkpoint_still_scored(tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "run2"
    cb = CheckpointEvalCallback("test:parity", limit=2, max_new_tokens=2, device="cpu", n_boot=20)
    args, state = fake_save(out, 1, None)
    cb.on_save(args, state, control=None)  # must not raise
    assert "evaluation failed" in capsys.readouterr().err
    args, state = fake_save(out, 2, tiny_model_dir)
    cb.on_save(args, state, control=None)
    recs = lines(out / "metrics.jsonl")
    assert [r["step"] for r in recs] == [1, 2]
    assert "eval_error" in recs[0] and "eval/test:parity" not in recs[0]
    assert (out / "checkpoint-1" / "eval" / "error.txt").is_file()
    assert recs[1]["eval/test:parity"] == 0.5 and "eval_error" not in recs[1]
    board = json.loads((out / "leaderboard" / "board.json").read_text())
    assert [r["step"] for r in board["rows"]] == [2]


def test_wandb_gets_eval_metrics_at_global_step(tmp_path, tiny_model_dir, monkeypatch):
    import wandb

    from tests.test_leaderboard_wandb import history_keys

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    wandb.teardown()  # a wandb setup left by an earlier test in this process would keep its WANDB_DIR
    run = wandb.init(project="cb-test")  # as transformers' WandbCallback does: the global wandb.run
    try:
        cb = CheckpointEvalCallback(["test:parity"], limit=2, max_new_tokens=2, device="cpu", leaderboard=False)
        args, state = fake_save(tmp_path / "run3", 7, tiny_model_dir)
        cb.on_save(args, state, control=None)
    finally:
        run.finish()
        wandb.teardown()
    (run_dir,) = list((tmp_path / "wandb").glob("offline-run-*"))
    keys = history_keys(run_dir)
    assert keys["eval/test:parity"] == 0.5 and keys["train/global_step"] == 7


def test_metrics_from_summary_reads_tasks_and_aggregates():
    summary = {"tasks": {"a:x": {"accuracy": 0.25}, "a:y": {"accuracy": None}},
               "aggregates": {"bfcl": {"overall": {"value": 0.1, "total": 9}},
                              "apibank": {"overall": {"accuracy": 0.4}}}}
    assert metrics_from_summary(summary) == {"eval/a:x": 0.25, "eval/bfcl/overall": 0.1, "eval/apibank/overall": 0.4}


def test_constructor_rejects_bad_configuration():
    with pytest.raises(UserError, match="unknown task"):
        CheckpointEvalCallback(["nope:nothing"])
    with pytest.raises(UserError, match="mode"):
        CheckpointEvalCallback(["test:parity"], mode="thread")
    with pytest.raises(UserError, match="limit"):
        CheckpointEvalCallback(["test:parity"], limit=0)
    with pytest.raises(UserError, match="top_k"):
        CheckpointEvalCallback(["test:parity"], mode="subprocess", top_k=3)
    with pytest.raises(UserError, match="top_k"):  # in-process too: every mode passes the same `rest eval` flags
        CheckpointEvalCallback(["test:parity"], mode="inprocess", top_k=3)
    with pytest.raises(UserError, match="--threads must be a positive integer"):
        CheckpointEvalCallback(["test:parity"], threads=-2)


def test_inprocess_eval_builds_the_backend_from_the_rest_eval_flags(tmp_path, monkeypatch):
    import harness.backends as backends
    from harness.backends.base import Completion

    class SayBackend:
        name = "fake"

        def info(self):
            return {"backend": self.name}

        def generate(self, prompts, params):
            return [Completion(text="ok") for _ in prompts]

    got = {}

    def fake_make_backend(name, args=None, **kwargs):
        got.update(name=name, args=args, kwargs=kwargs)
        return SayBackend()

    monkeypatch.setattr(backends, "make_backend", fake_make_backend)
    cb = CheckpointEvalCallback(["test:parity"], limit=2, mode="inprocess", batch_size=3, device="cpu", dtype="float32",
                                no_prefix_cache=True, leaderboard=False)
    fake_save(tmp_path / "run", 2, None)
    rec = cb.evaluate_checkpoint(tmp_path / "run", 2)
    assert "eval_error" not in rec and rec["eval/test:parity"] == 0.5
    a = got["args"]
    assert got["name"] == "hf" and not got["kwargs"]
    assert (a.model, a.device, a.dtype, a.batch_size, a.no_prefix_cache) == (
        str(tmp_path / "run" / "checkpoint-2"), "cpu", "float32", 3, True)


def test_checkpoint_eval_batches_as_rest_eval_does_by_default(tmp_path, monkeypatch):
    """No batch size given: `--batch-size auto`, resolved in process as `rest eval` resolves it (the hf backend
    hands up to 64 prompts to one generate call)."""
    import harness.backends as backends
    import harness.runner as runner
    from harness.backends.hf import HFBackend

    seen = {}
    monkeypatch.setattr(backends, "make_backend", lambda name, args=None, **kw: seen.update(args=args) or object())

    def fake_run(backend, cfg):
        seen["batch"] = cfg.batch_size
        raise RuntimeError("stop here")

    monkeypatch.setattr(runner, "run", fake_run)
    cb = CheckpointEvalCallback(["test:parity"], limit=2, mode="inprocess", device="cpu", leaderboard=False)
    assert "--batch-size auto" in " ".join(cb.subprocess_command(tmp_path / "checkpoint-1"))
    fake_save(tmp_path / "run", 1, None)
    rec = cb.evaluate_checkpoint(tmp_path / "run", 1)
    assert "stop here" in rec["eval_error"]
    assert seen["args"].batch_size == "auto" and seen["batch"] == HFBackend.MAX_DECODE_ROWS == 64


def test_subprocess_command_mirrors_rest_eval(tmp_path):
    cb = CheckpointEvalCallback(["test:parity"], limit=3, mode="subprocess", max_new_tokens=9, device="cpu")
    cmd = cb.subprocess_command(tmp_path / "checkpoint-5")
    assert cmd[1:4] == ["-m", "harness.cli", "eval"]
    joined = " ".join(cmd)
    for part in (f"--model {tmp_path / 'checkpoint-5'}", "--tasks test:parity", f"--output-dir {tmp_path / 'checkpoint-5'}",
                 "--run-name eval", "--limit 3", "--max-new-tokens 9", "--device cpu", "--overwrite"):
        assert part in joined


def test_subprocess_mode_runs_rest_eval(tmp_path, tiny_model_dir):
    """A real child `rest eval` on a real task (BFCL simple_python, 2 items) of a tiny checkpoint."""
    out = tmp_path / "run4"
    cb = CheckpointEvalCallback(["bfcl:simple_python"], limit=2, mode="subprocess", max_new_tokens=4, device="cpu",
                                n_boot=20, timeout_s=300)
    args, state = fake_save(out, 4, tiny_model_dir)
    cb.on_save(args, state, control=None)
    (rec,) = lines(out / "metrics.jsonl")
    assert "eval_error" not in rec, rec
    summary = json.loads((out / "checkpoint-4" / "eval" / "summary.json").read_text())
    assert summary["tasks"]["bfcl:simple_python"]["total"] == 2
    assert rec["eval/bfcl:simple_python"] == summary["tasks"]["bfcl:simple_python"]["accuracy"]
    assert (out / "checkpoint-4" / "eval" / "samples" / "bfcl__simple_python.jsonl").is_file()


def test_real_trainer_two_steps_each_checkpoint_scored(tmp_path, tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    ids = tok("call get_weather(city='Paris')")["input_ids"]
    data = [{"input_ids": torch.tensor(ids), "labels": torch.tensor(ids)} for _ in range(4)]
    out = tmp_path / "trained"
    targs = TrainingArguments(output_dir=str(out), max_steps=2, save_steps=1, save_strategy="steps",
                              per_device_train_batch_size=1, report_to=[], use_cpu=True, logging_steps=1,
                              learning_rate=1e-3, save_only_model=True, disable_tqdm=True)
    cb = CheckpointEvalCallback(["test:parity"], limit=2, max_new_tokens=2, device="cpu", n_boot=20)
    Trainer(model=model, args=targs, train_dataset=data, processing_class=tok, callbacks=[cb]).train()
    recs = [r for r in lines(out / "metrics.jsonl") if "checkpoint" in r]
    assert [(r["step"], r["eval/test:parity"]) for r in recs] == [(1, 0.5), (2, 0.5)]
    for step in (1, 2):
        assert (out / f"checkpoint-{step}" / "eval" / "summary.json").is_file()
    board = json.loads((out / "leaderboard" / "board.json").read_text())
    assert sorted(r["step"] for r in board["rows"]) == [1, 2]


# ---------------------------------------------------------------- background mode (multi-process training)

FAKE_EVAL = """
import json, pathlib, sys, time
ckpt, go, acc = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), float(sys.argv[3])
while not go.exists():
    time.sleep(0.02)
if acc < 0:
    sys.exit("boom: fake evaluation failed")
(ckpt / "eval").mkdir(parents=True, exist_ok=True)
summary = {"schema": "rest-harness/summary/v1", "model": str(ckpt),
           "tasks": {"test:parity": {"correct": int(acc * 4), "total": 4, "accuracy": acc}}}
(ckpt / "eval" / "summary.json").write_text(json.dumps(summary))
print("fake eval done")
"""


def fake_command(cb: CheckpointEvalCallback, go: Path, acc: float = 0.75) -> None:
    """`rest eval` replaced by a script that waits for `go` to exist, then writes a summary (no model)."""
    import sys

    cb.subprocess_command = lambda ckpt: [sys.executable, "-c", FAKE_EVAL, str(ckpt), str(go), str(acc)]


def test_background_eval_returns_at_once_and_is_recorded_later(tmp_path, capsys):
    import time

    out, go = tmp_path / "run5", tmp_path / "go"
    cb = CheckpointEvalCallback(["test:parity"], mode="background", n_boot=20)
    fake_command(cb, go)
    args, state3 = fake_save(out, 3, None)
    t0 = time.perf_counter()
    cb.on_save(args, state3, control=None)
    assert time.perf_counter() - t0 < 5 and len(cb.pending) == 1  # the child blocks until `go`: we did not wait
    cb.on_step_end(args, state3, control=None)
    assert len(cb.pending) == 1 and not (out / "metrics.jsonl").exists()  # still running: nothing recorded yet
    _, state5 = fake_save(out, 5, None)
    cb.on_save(args, state5, control=None)  # a second checkpoint while the first is still evaluated
    assert [p.step for p in cb.pending] == [3, 5]
    go.touch()
    cb.pending[0].proc.wait(timeout=120)
    cb.on_log(args, state5, control=None, logs={"loss": 1.0})
    assert lines(out / "metrics.jsonl")[0]["step"] == 3
    cb.on_train_end(args, state5, control=None)  # waits for what is still running
    recs = lines(out / "metrics.jsonl")
    assert [(r["step"], r["checkpoint"], r["eval/test:parity"]) for r in recs] == [
        (3, "checkpoint-3", 0.75), (5, "checkpoint-5", 0.75)]
    assert not cb.pending and [r["step"] for r in cb.history] == [3, 5]
    assert "fake eval done" in (out / "checkpoint-3" / "eval" / "eval.log").read_text()
    board = json.loads((out / "leaderboard" / "board.json").read_text())
    assert sorted(r["step"] for r in board["rows"]) == [3, 5]


def test_background_eval_failure_is_recorded_not_raised(tmp_path, capsys):
    out, go = tmp_path / "run6", tmp_path / "go"
    go.touch()
    cb = CheckpointEvalCallback(["test:parity"], mode="background", leaderboard=False)
    fake_command(cb, go, acc=-1)
    args, state = fake_save(out, 2, None)
    cb.on_save(args, state, control=None)
    cb.on_train_end(args, state, control=None)
    (rec,) = lines(out / "metrics.jsonl")
    assert rec["step"] == 2 and rec["eval_error"] == "RuntimeError: rest eval exited with 1: boom: fake evaluation failed"
    assert (out / "checkpoint-2" / "eval" / "error.txt").is_file()
    assert "checkpoint-2 evaluation failed" in capsys.readouterr().err


def test_mode_auto_is_background_with_several_processes(tmp_path, capsys):
    from trainer.eval_callback import resolve_mode

    assert resolve_mode("auto", 1) == ("inprocess", None)
    assert resolve_mode("subprocess", 1) == ("subprocess", None)
    mode, note = resolve_mode("auto", 8)
    assert mode == "background" and "8 processes" in note and "\n" not in note
    mode, note = resolve_mode("inprocess", 2)
    assert mode == "background" and "eval.mode inprocess would hold the other ranks" in note
    cb = CheckpointEvalCallback(["test:parity"])
    assert cb.mode == "auto"
    ddp = SimpleNamespace(world_size=4, process_index=0, output_dir=str(tmp_path))
    cb.on_train_begin(ddp, SimpleNamespace(is_world_process_zero=True), control=None)
    assert cb.mode == "background" and capsys.readouterr().out.count("\n") == 1


def test_several_processes_wait_only_after_the_final_save(tmp_path, capsys):
    out, go = tmp_path / "run7", tmp_path / "go"
    cb = CheckpointEvalCallback(["test:parity"], mode="background", leaderboard=False)
    fake_command(cb, go)
    _, state = fake_save(out, 4, None)
    ddp = SimpleNamespace(world_size=2, process_index=0, output_dir=str(out))
    cb.on_save(ddp, state, control=None)
    cb.on_train_end(ddp, state, control=None)  # ZeRO-3/FSDP saves are collectives: rank 0 must not block here
    assert len(cb.pending) == 1 and "collected after the final save" in capsys.readouterr().out
    go.touch()
    (rec,) = cb.finish(out)
    assert rec["step"] == 4 and rec["eval/test:parity"] == 0.75 and not cb.pending


def test_child_env_drops_the_ranks_distributed_variables(monkeypatch):
    from trainer.eval_callback import _child_env

    for k, v in (("RANK", "0"), ("WORLD_SIZE", "8"), ("MASTER_PORT", "29500"), ("KEEP_ME", "1")):
        monkeypatch.setenv(k, v)
    env = _child_env()
    assert "RANK" not in env and "WORLD_SIZE" not in env and "MASTER_PORT" not in env
    assert env["KEEP_ME"] == "1" and env["TOKENIZERS_PARALLELISM"] == "false"


def test_real_trainer_background_mode_records_every_checkpoint(tmp_path, tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    ids = tok("call get_weather(city='Paris')")["input_ids"]
    data = [{"input_ids": torch.tensor(ids), "labels": torch.tensor(ids)} for _ in range(3)]
    out, go = tmp_path / "trained-bg", tmp_path / "go"
    go.touch()
    targs = TrainingArguments(output_dir=str(out), max_steps=3, save_steps=1, save_strategy="steps",
                              per_device_train_batch_size=1, report_to=[], use_cpu=True, logging_steps=1,
                              learning_rate=1e-3, save_only_model=True, disable_tqdm=True)
    cb = CheckpointEvalCallback(["test:parity"], mode="background", n_boot=20)
    fake_command(cb, go, acc=0.5)
    Trainer(model=model, args=targs, train_dataset=data, processing_class=tok, callbacks=[cb]).train()
    recs = [r for r in lines(out / "metrics.jsonl") if "checkpoint" in r]
    assert sorted((r["step"], r["eval/test:parity"]) for r in recs) == [(1, 0.5), (2, 0.5), (3, 0.5)]
    assert not cb.pending
