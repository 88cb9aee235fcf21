"""CLI behaviour: one-line errors and non-zero exits for bad input, help for every command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=120)


def test_unknown_task_is_one_line_error():
    r = run_cli("eval", "--tasks", "bfcl:nope_not_a_task")
    assert r.returncode == 2
    assert r.stderr.strip().startswith("rest: error: unknown task 'bfcl:nope_not_a_task'")
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_missing_model_path_is_one_line_error(tmp_path):
    r = run_cli("eval", "--model", str(tmp_path / "missing"), "--tasks", "test_only_nonexistent", "--limit", "1")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_missing_model_dir_before_any_download(tmp_path, monkeypatch):
    from harness.backends.hf_load import resolve_model
    from harness.types import UserError

    with pytest.raises(UserError):
        resolve_model(str(tmp_path / "nope"))


def test_bad_limit_is_rejected():
    r = run_cli("eval", "--limit", "0")
    assert r.returncode == 2 and "--limit" in r.stderr and "Traceback" not in r.stderr


def test_bad_kv_budget_is_rejected():
    r = run_cli("eval", "--kv-budget-mb", "0")
    assert r.returncode == 2 and "--kv-budget-mb" in r.stderr and "Traceback" not in r.stderr


def test_summarize_only_without_samples_is_one_line_error(tmp_path):
    r = run_cli("eval", "--summarize-only", "--output-dir", str(tmp_path), "--run-name", "none")
    assert r.returncode == 2 and "no samples to summarize" in r.stderr and "Traceback" not in r.stderr


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "eval" in out and "score" in out


def test_eval_help_explains_every_flag(capsys):
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    out = capsys.readouterr().out
    for flag in ("--model", "--tasks", "--limit", "--batch-size", "--output-dir", "--resume", "--format"):
        assert flag in out


def test_list_tasks_names_each_tasks_formats_and_protocol(capsys):
    from harness.cli import main

    assert main(["eval", "--list-tasks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["task", "--format"]
    rows = {line.split()[0]: line.split()[1] for line in lines[1:] if not line.split()[1].startswith("(group")}
    assert rows["bfcl:multi_turn_base"] == "prompting|fc|toolrl" and rows["bfcl:simple_python"] == "prompting|fc|toolrl"
    assert rows["toolrl:test"] == "toolrl" and rows["apibank-original:level-1"] == "apibank"
    assert any(line.startswith("bfcl:multi_turn ") and "(group: 4 tasks)" in line for line in lines)


def test_list_tasks_needs_no_data(monkeypatch, tmp_path, capsys):
    """A fresh clone (no fetched data, no ../shared) can list every task: listing reads no files."""
    from harness.apibank import data as apibank_data
    from harness.cli import main
    from harness.toolrl import data as toolrl_data

    monkeypatch.setenv("REST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("REST_TOOLRL_DATA", str(tmp_path / "none"))
    monkeypatch.setenv("REST_APIBANK_DATA", str(tmp_path / "none"))
    for module in (toolrl_data, apibank_data):
        monkeypatch.setattr(module, "sibling_data", lambda dataset: tmp_path / "no-shared" / dataset)
    assert main(["eval", "--list-tasks"]) == 0
    out = capsys.readouterr().out
    assert "toolrl:test" in out and "apibank:level-1" in out
    assert main(["eval", "--tasks", "toolrl:test", "--model", "x", "--no-fetch"]) == 2  # running it still needs the data
    assert "rlla_4k_test.parquet" in capsys.readouterr().err


@pytest.mark.parametrize(("given", "want"), [("auto", "auto"), ("AUTO", "auto"), ("16", 16)])
def test_batch_size_is_a_positive_integer_or_auto(given, want):
    from harness.cli.eval import batch_size

    assert batch_size(given) == want


@pytest.mark.parametrize("bad", ["0", "-3", "many", "1.5"])
def test_bad_batch_size_is_one_line_and_exit_2(bad, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--batch-size", bad])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith(f"expected a positive integer or auto, got {bad!r}" if not bad.lstrip("-").isdigit()
                            else f"expected a positive integer or auto, got {int(bad)}")
