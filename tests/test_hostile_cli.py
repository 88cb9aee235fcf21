"""Issue 22 items 9, 10 and 12: every bad file or flag is one line on stderr and a non-zero exit, never a traceback.

Flag checks are shared by every backend, so they are tested as functions (`check_args`,
`check_device`), plus a few `rest eval` child processes for the exit code and the single
line (those fail before torch is imported, in well under a second each). Model-loading cases
use the tiny model of tests/conftest.py, never the embedded one.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys

import pytest

from harness.cli import build_parser, main
from harness.types import UserError
from tests.bfcl.test_scorefile import _answer_text
from tests.data_paths import needs


def _write(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _one_line(capsys, argv: list[str], rc: int = 2) -> str:
    """Run `rest ARGV` in-process; assert the exit status and a single `rest: ...` line on stderr; return it."""
    got = main(argv)
    captured = capsys.readouterr()
    assert got == rc, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rest: "), captured.err
    return lines[0]


def _child(argv: list[str], limit_bytes: int | None = None, **kw) -> subprocess.CompletedProcess:
    def limit() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=120, env=env,
                          preexec_fn=limit, **kw)


def _assert_one_line(proc: subprocess.CompletedProcess, rc: int = 2) -> str:
    assert proc.returncode == rc, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def _eval_args(*argv: str):
    return build_parser().parse_args(["eval", *argv])


# ---------------------------------------------------------------- item 9: unreadable result and data files


@pytest.mark.parametrize("content, expected", [
    (b"\xff\xfe\x00binary\n", "r.json:1: not UTF-8 text"),
    (b'{"id": "simple_python_0", "result": "[f()]"}\n\x81\x82\n', "r.json:2: not UTF-8 text"),
    (b"[" * 100_000 + b"]" * 100_000 + b"\n", "r.json:1: JSON nested too deeply"),
    (b"", "no results in the given files"),
    (b"\n  \n", "no results in the given files"),  # before: exit 0 and a table of N/A
])
def test_score_bfcl_unreadable_or_empty_files_are_one_line(tmp_path, capsys, content, expected):
    (tmp_path / "r.json").write_bytes(content)
    assert expected in _one_line(capsys, ["score", "bfcl", str(tmp_path / "r.json")])


@needs("apibank")
@pytest.mark.parametrize("content, expected", [
    (b"[" * 100_000 + b"]" * 100_000 + b"\n", "t.jsonl:1: JSON nested too deeply"),
    (b"", "no outputs in the given files"),
])
def test_score_apibank_unreadable_or_empty_files_are_one_line(tmp_path, capsys, content, expected):
    (tmp_path / "t.jsonl").write_bytes(content)
    assert expected in _one_line(capsys, ["score", "apibank", str(tmp_path / "t.jsonl")])


def _out_cases(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "a_file").write_text("x")
    return {"folder": (str(tmp_path / "folder"), "is a folder"),
            "under a file": (str(tmp_path / "a_file" / "out.jsonl"), "is not a folder"),
            "disk full": ("/dev/full", "No space left on device")}


@pytest.mark.parametrize("case", ["folder", "under a file", "disk full"])
def test_score_bfcl_out_that_cannot_be_written_is_one_line(tmp_path, capsys, case):
    out, expected = _out_cases(tmp_path)[case]
    test_id, text = _answer_text("simple_python", 0)
    path = _write(tmp_path / "r.json", [{"id": test_id, "result": text}])
    assert expected in _one_line(capsys, ["score", "bfcl", path, "--out", out])


@needs("apibank")
@pytest.mark.parametrize("case", ["folder", "under a file", "disk full"])
def test_score_apibank_out_that_cannot_be_written_is_one_line(tmp_path, capsys, case):
    out, expected = _out_cases(tmp_path)[case]
    path = _write(tmp_path / "t.jsonl", [{"id": "Level1_0", "result": "x"}])
    assert expected in _one_line(capsys, ["score", "apibank", path, "--out", out])


def test_a_file_size_limit_during_rest_eval_is_one_line(tmp_path):
    """`ulimit -f` (OSError: File too large) in the middle of writing samples: one line, and the run resumes."""
    code = (
        "import sys; from harness import tasks as registry; import harness.backends as backends; "
        "from tests.test_runner import EchoTask, OkBackend; "
        "registry.register('test:echo', EchoTask); backends.make_backend = lambda name, **kw: OkBackend(); "
        "from harness.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    argv = ["-c", code, "eval", "--tasks", "test:echo", "--output-dir", str(tmp_path), "--run-name", "r",
            "--batch-size", "2", "--no-progress", "--no-fetch"]
    line = _assert_one_line(_child(argv, limit_bytes=1500))
    assert "samples/test__echo.jsonl: File too large" in line and "--resume" in line
    resumed = _child([*argv, "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["tasks"]["test:echo"]["total"] == 10


def test_apibank_corrupt_data_files_are_one_line(tmp_path, capsys):
    """A level file or a dialogue file damaged on disk (no real data needed: a folder laid out like the cache)."""
    processed = tmp_path / "data" / "toolrl_processed"
    processed.mkdir(parents=True)
    outputs = _write(tmp_path / "t.jsonl", [{"id": "Level1_0", "result": "x"}])
    for level, content in ((1, b"[" * 100_000), (2, b"5"), (3, b"[]")):
        (processed / f"level-{level}-api_processed.json").write_bytes(content)
    line = _one_line(capsys, ["score", "apibank", "--data-dir", str(tmp_path / "data"), outputs])
    assert "level-1-api_processed.json is not valid JSON (RecursionError" in line
    (processed / "level-1-api_processed.json").write_bytes(b"5")
    line = _one_line(capsys, ["score", "apibank", "--data-dir", str(tmp_path / "data"), outputs])
    assert "level-1-api_processed.json: expected a JSON list" in line

    dialogues = tmp_path / "data" / "damo-convai" / "api-bank" / "lv1-lv2-samples" / "level-1-given-desc"
    dialogues.mkdir(parents=True)
    (tmp_path / "data" / "damo-convai" / "api-bank" / "init_database").mkdir()
    (dialogues / "AddAlarm-level-1-1.jsonl").write_bytes(b"\xff\xfegarbage\n")
    preds = _write(tmp_path / "p.jsonl", [{"file": "AddAlarm-level-1-1.jsonl", "sample_id": 0,
                                           "pred": "API-Request: [AddAlarm()]"}])
    line = _one_line(capsys, ["score", "apibank", "--protocol", "original", "--data-dir", str(tmp_path / "data"), preds])
    assert "AddAlarm-level-1-1.jsonl is not UTF-8 text" in line


def test_a_corrupt_toolrl_parquet_or_json_is_one_user_error(tmp_path):
    from harness.toolrl.data import load_rows

    (tmp_path / "rows.parquet").write_bytes(b"PAR1" + os.urandom(300))
    with pytest.raises(UserError, match="rows.parquet: not a readable parquet file"):
        load_rows(str(tmp_path / "rows.parquet"))
    (tmp_path / "rows.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(UserError, match="rows.json: not valid JSON"):
        load_rows(str(tmp_path / "rows.json"))
    (tmp_path / "deep.json").write_text("[" * 100_000)
    with pytest.raises(UserError, match="deep.json: not valid JSON"):
        load_rows(str(tmp_path / "deep.json"))


@pytest.mark.parametrize("summary_patch, field", [
    ({"tasks": ["bfcl:simple_python"]}, "tasks must be an object"),
    ({"tasks": {"bfcl:simple_python": 3}}, "tasks.bfcl:simple_python must be an object"),
    ({"tasks": {"bfcl:simple_python": {"correct": "seven", "total": 10}}}, "tasks.bfcl:simple_python.correct must be"),
    ({"tasks": {"bfcl:simple_python": {"correct": 11, "total": 10}}}, "correct must be at most total"),
    ({"backend": "hf"}, "backend must be an object"),
    ({"model": {"name": "x"}}, "model must be a string"),
])
def test_leaderboard_summaries_with_wrong_types_are_one_line(tmp_path, capsys, summary_patch, field):
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    summary = {"schema": "rest-harness/summary/v1", "model": "m", "backend": {"backend": "hf"},
               "tasks": {"bfcl:simple_python": {"correct": 1, "total": 2}}, **summary_patch}
    (run / "summary.json").write_text(json.dumps(summary))
    line = _one_line(capsys, ["leaderboard", "build", str(tmp_path / "runs"), "--out", str(tmp_path / "b"),
                              "--n-boot", "10"])
    assert str(run / "summary.json") in line and field in line


def test_a_binary_or_too_deep_training_yaml_is_one_line(tmp_path, capsys):
    (tmp_path / "bin.yaml").write_bytes(b"\x00\xc7\xff" + os.urandom(100))
    assert "bin.yaml: not a text YAML file" in _one_line(capsys, ["train", "--config", str(tmp_path / "bin.yaml"),
                                                                  "--dry-run"])
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 20_000)
    assert "deep.yaml" in _one_line(capsys, ["train", "--config", str(tmp_path / "deep.yaml"), "--dry-run"])


# ---------------------------------------------------------------- item 9: models, adapters, devices


def _broken_copy(src, dst, how: str):
    shutil.copytree(src, dst)
    weights = dst / "model.safetensors"
    if how == "truncated":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif how == "corrupt":
        weights.write_bytes(os.urandom(5000))
    elif how == "config only":
        for p in dst.iterdir():
            if p.name != "config.json":
                p.unlink()
    return dst


@pytest.mark.parametrize("how, expected", [
    ("truncated", "cannot load model"),
    ("corrupt", "cannot load model"),
    ("config only", "has a config.json but no weights"),
])
def test_a_broken_model_dir_is_one_user_error(tiny_model_dir, tmp_path, how, expected):
    from harness.backends.hf import HFBackend

    path = _broken_copy(tiny_model_dir, tmp_path / "m", how)
    with pytest.raises(UserError, match=expected) as exc:
        HFBackend(str(path), device="cpu")
    assert "\n" not in str(exc.value)


def test_adapter_that_is_not_an_adapter_is_refused_before_loading(tiny_model_dir):
    from harness.backends.hf import HFBackend

    with pytest.raises(UserError, match="is not a LoRA adapter folder"):
        HFBackend(str(tiny_model_dir), device="cpu", adapter=str(tiny_model_dir))


def test_rest_eval_with_truncated_weights_is_one_line(tiny_model_dir, tmp_path):
    """The whole chain once in a child process: main -> run_eval -> backend load -> one line, exit 2."""
    path = _broken_copy(tiny_model_dir, tmp_path / "m", "truncated")
    line = _assert_one_line(_child(["-m", "harness.cli", "eval", "--model", str(path), "--limit", "1", "--no-fetch",
                                    "--output-dir", str(tmp_path / "runs"), "--no-progress"]))
    assert "cannot load model" in line and "truncated or corrupt" in line


def test_devices_this_machine_cannot_use_are_refused():
    import torch

    from harness.backends.hf_load import check_device

    for device in ("cpu", "auto", None):
        check_device(device)
    for device, expected in (("tpu9", "not a device name"), ("meta", "is not supported"), ("", None)):
        if expected is None:
            check_device(device)
            continue
        with pytest.raises(UserError, match=expected):
            check_device(device)
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="--device cuda: .*use --device cpu or auto"):
            check_device("cuda")
    with pytest.raises(UserError, match="CUDA"):
        check_device(f"cuda:{torch.cuda.device_count() + 3}")


# ---------------------------------------------------------------- item 10 (and 9): flag values


@pytest.mark.parametrize("argv, expected", [
    (["--max-new-tokens", "0"], "--max-new-tokens must be a positive integer"),
    (["--max-new-tokens", "-5"], "--max-new-tokens must be a positive integer"),
    (["--threads", "-2"], "--threads must be a positive integer"),
    (["--temperature", "nan"], "--temperature must be a finite number"),
    (["--temperature", "inf"], "--temperature must be a finite number"),
    (["--temperature", "-1"], "--temperature must be a finite number"),
    (["--top-p", "2"], "--top-p must be in (0, 1]"),
    (["--top-p", "0"], "--top-p must be in (0, 1]"),
    (["--top-p", "nan"], "--top-p must be in (0, 1]"),
    (["--timeout", "nan"], "--timeout must be a positive number"),
    (["--concurrency", "0"], "--concurrency must be a positive integer"),
    (["--force"], "--force only applies to --resume"),
])
def test_eval_flag_values_that_would_crash_or_mislead_are_refused(argv, expected):
    from harness.cli.eval import check_args

    with pytest.raises(UserError) as exc:
        check_args(_eval_args(*argv))
    assert str(exc.value).startswith(expected)


def test_eval_defaults_and_sampling_values_pass():
    from harness.cli.eval import check_args

    check_args(_eval_args())
    check_args(_eval_args("--temperature", "0.7", "--top-p", "0.95", "--threads", "2", "--max-new-tokens", "1"))


@pytest.mark.parametrize("argv", [
    ["--max-new-tokens", "0"], ["--temperature", "nan"], ["--top-p", "2"], ["--device", "tpu9"],
    ["--run-name", "../../x"],
])
def test_rest_eval_refuses_bad_flags_in_one_line(tmp_path, argv):
    line = _assert_one_line(_child(["-m", "harness.cli", "eval", "--model", str(tmp_path / "none"), "--no-fetch",
                                    "--output-dir", str(tmp_path / "runs"), *argv]))
    assert line.startswith(f"rest: error: {argv[0]}")
    assert not (tmp_path / "runs").exists() and not (tmp_path.parent / "x").exists()


def _train_yaml(tmp_path, section: str) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(f"base: cpu-smoke\n{section}\n")
    return str(path)


@pytest.mark.parametrize("section, expected", [
    ("grpo:\n  learning_rate: .nan", "grpo.learning_rate: expected a finite number"),
    ("grpo:\n  learning_rate: .inf", "grpo.learning_rate: expected a finite number"),
    ("grpo:\n  max_steps: -3", "grpo.max_steps: a positive number of steps, or -1"),
    ("grpo:\n  num_train_epochs: .nan", "grpo.num_train_epochs: expected a finite number"),
])
def test_training_configs_with_nan_or_negative_steps_are_refused(tmp_path, section, expected):
    from trainer.config import load_config

    with pytest.raises(UserError, match=expected.replace(".", r"\.")):
        load_config(_train_yaml(tmp_path, section))


def test_sft_config_with_nan_learning_rate_is_refused(tmp_path):
    from trainer.sft_config import load_sft_config

    path = tmp_path / "s.yaml"
    path.write_text("base: sft\nsft:\n  learning_rate: .nan\n")
    with pytest.raises(UserError, match=r"sft\.learning_rate: expected a finite number"):
        load_sft_config(str(path))


# ---------------------------------------------------------------- item 12


@pytest.mark.parametrize("name", ["../../x", "a/b", "/abs", "..", ".", "a\\b", ""])
def test_a_run_name_must_stay_inside_the_output_dir(name):
    from harness.cli.eval import check_args

    with pytest.raises(UserError, match="--run-name .* must be a plain folder name"):
        check_args(_eval_args("--run-name", name))
    check_args(_eval_args("--run-name", "my-run_2.v1"))


def test_ctrl_c_during_rest_score_does_not_suggest_resume(tmp_path, capsys, monkeypatch):
    import harness.bfcl.cli as bfcl_cli

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(bfcl_cli, "score_lines", interrupted)
    test_id, text = _answer_text("simple_python", 0)
    line = _one_line(capsys, ["score", "bfcl", _write(tmp_path / "r.json", [{"id": test_id, "result": text}])], rc=130)
    assert line == "rest: interrupted"


def test_ctrl_c_during_rest_eval_still_suggests_resume(capsys, monkeypatch):
    import harness.data.preflight as task_data

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(task_data, "prepare", interrupted)
    assert "--resume" in _one_line(capsys, ["eval"], rc=130)
