"""`rest eval` on a machine without benchmark data: fetch on first use, one-line errors, the demo's skip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.apibank import data
from harness.cli import main
from harness.data import fetch as data_fetch
from harness.data import preflight as task_data
from harness.toolrl import data as toolrl_data
from harness.types import DataMissing, UserError
from tests import data_paths


@pytest.fixture()
def no_data(monkeypatch, tmp_path):
    """No env vars, an empty fetch cache, no ../shared: a fresh clone."""
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.delenv("REST_TOOLRL_DATA", raising=False)
    monkeypatch.setenv("REST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "_sibling_shared", lambda: tmp_path / "shared" / "apibank")
    monkeypatch.setattr(toolrl_data, "search_dirs", lambda: [tmp_path / "cache" / "data" / "toolrl"])
    return tmp_path


def _write_levels(root: Path) -> Path:
    for level in data.LEVELS:
        path = data.level_file(level, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps([{"system": "S", "user": f"U{level}", "answer": {"name": "f", "parameters": {}}}]))
    return root


class FakeFetch:
    """Stands in for the network: either writes the files where `rest data fetch` would, or fails like a dead DNS."""

    def __init__(self, works: bool):
        self.works, self.calls = works, []

    def __call__(self, name, dest=None, base_url=None, **kwargs):
        self.calls.append(name)
        target = data_fetch.default_dest(name)
        (target / "toolrl_processed").mkdir(parents=True, exist_ok=True)  # a failed fetch leaves folders too
        if not self.works:
            raise UserError(f"download of https://example.invalid/{name} failed: no network")
        _write_levels(target)
        return data_fetch.FetchReport(dest=target, downloaded=["x"])


def test_empty_folders_of_a_failed_fetch_do_not_hide_a_complete_copy(no_data):
    (data.cache_data_dir() / "toolrl_processed").mkdir(parents=True)
    (data.cache_data_dir() / "damo-convai" / "api-bank" / "test-data").mkdir(parents=True)
    with pytest.raises(DataMissing, match="rest data fetch apibank") as exc:
        data.data_dir()
    assert exc.value.dataset == "apibank"
    shared = _write_levels(no_data / "shared" / "apibank")
    assert data.data_dir() == shared


def test_missing_data_is_fetched_once_with_a_progress_line_then_the_tasks_run(no_data, monkeypatch):
    fake, lines = FakeFetch(works=True), []
    monkeypatch.setattr(data_fetch, "fetch", fake)
    ready = list(task_data.prepare(["apibank:level-1", "apibank:level-2"], say=lines.append))
    assert ready == ["apibank:level-1", "apibank:level-2"] and fake.calls == ["apibank"]
    assert "fetching" in lines[0] and str(data.cache_data_dir()) in lines[0]
    assert data.data_dir() == data.cache_data_dir()


def test_a_named_task_whose_data_cannot_be_fetched_is_a_one_line_error(no_data, monkeypatch):
    monkeypatch.setattr(data_fetch, "fetch", FakeFetch(works=False))
    with pytest.raises(DataMissing) as exc:
        task_data.prepare(["apibank:level-1"], say=lambda line: None)
    text = str(exc.value)
    assert exc.value.dataset == "apibank"
    assert text.startswith("apibank:level-1: ") and "no network" in text and "rest data fetch apibank" in text
    assert "\n" not in text


def test_demo_skips_what_it_cannot_fetch_in_one_line(no_data, monkeypatch):
    monkeypatch.setattr(data_fetch, "fetch", FakeFetch(works=False))
    lines = []
    names = ["bfcl:simple_python", "apibank:level-1", "apibank:level-2", "toolrl:test"]
    assert list(task_data.prepare(names, skip_missing=True, say=lines.append)) == ["bfcl:simple_python"]
    skipped = [line for line in lines if line.startswith("skipped")]
    assert skipped == [line for line in lines if "skipped" in line] and len(skipped) == 2  # one line per dataset
    assert skipped[0].startswith("skipped apibank:level-1, apibank:level-2: ") and skipped[0].endswith(
        "add it with `rest data fetch apibank`")
    assert skipped[1].startswith("skipped toolrl:test: ") and "rest data fetch toolrl" in skipped[1]
    with pytest.raises(UserError, match="nothing left to run"):
        task_data.prepare(["apibank:level-1"], skip_missing=True, say=lines.append)


def test_no_fetch_never_downloads(no_data, monkeypatch):
    fake = FakeFetch(works=True)
    monkeypatch.setattr(data_fetch, "fetch", fake)
    with pytest.raises(UserError, match="rest data fetch apibank"):
        task_data.prepare(["apibank:level-1"], fetch=False)
    assert fake.calls == []


def test_cli_missing_data_is_one_line_and_exit_2(no_data, monkeypatch, capsys):
    monkeypatch.setattr(data_fetch, "fetch", FakeFetch(works=False))
    assert main(["eval", "--tasks", "toolrl:test", "--limit", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "fetching" in err[0]  # the progress line, then the error
    assert err[1].startswith("rest: error: toolrl:test needs rlla_4k_test.parquet") and "rest data fetch toolrl" in err[1]
    assert main(["eval", "--tasks", "apibank:level-1", "--no-fetch"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_tests_recognise_the_trainers_missing_alias_error():
    trainer_error = UserError("data.train: toolrl:sft needs rlla_sft.json; not found in /a, /b (set REST_TOOLRL_DATA)")
    assert data_paths.missing_dataset_of(trainer_error) == "toolrl"
    assert data_paths.missing_dataset_of(DataMissing("x", dataset="apibank")) == "apibank"
    assert data_paths.missing_dataset_of(UserError("--limit must be a positive integer")) is None
    assert data_paths.missing_dataset_of(FileNotFoundError("rlla_sft.json")) is None
    in_a_subprocess = AssertionError("rest: error: data.train: toolrl:rl needs rlla_4k_train.parquet; not found in /a")
    assert data_paths.missing_dataset_of(in_a_subprocess) == "toolrl"
