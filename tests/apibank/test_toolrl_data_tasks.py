"""API-Bank data resolution, level loading and the `apibank:*` tasks (ToolRL/ResT protocol)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness import tasks as registry
from harness.apibank import data
from harness.apibank.tasks import NATIVE_DIR
from harness.types import UserError
from tests.data_paths import dataset_dir, needs

SHARED = dataset_dir("apibank")


@pytest.fixture()
def isolated(monkeypatch, tmp_path):
    """No env var, an empty cache, and a fake ../shared location we control."""
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setenv("REST_CACHE_DIR", str(tmp_path / "cache"))
    fake_shared = tmp_path / "shared_apibank"
    monkeypatch.setattr(data, "_sibling_shared", lambda: fake_shared)
    return tmp_path


def _make_copy(dst: Path) -> Path:
    shutil.copytree(SHARED / "toolrl_processed", dst / "toolrl_processed")
    return dst


@needs("apibank")
def test_resolution_order(isolated, monkeypatch):
    with pytest.raises(UserError, match="rest data fetch apibank"):
        data.data_dir()
    shared = _make_copy(isolated / "shared_apibank")
    assert data.data_dir() == shared  # dev fallback
    cache = _make_copy(isolated / "cache" / "data" / "apibank")
    assert data.data_dir() == cache  # the fetch cache wins over ../shared
    env = _make_copy(isolated / "env")
    monkeypatch.setenv(data.ENV_VAR, str(env))
    assert data.data_dir() == env  # env var wins over the cache
    explicit = _make_copy(isolated / "explicit")
    assert data.data_dir(str(explicit)) == explicit  # --data-dir wins over everything


@needs("apibank")
def test_explicit_choices_that_do_not_exist_are_errors(isolated, monkeypatch):
    _make_copy(isolated / "shared_apibank")
    with pytest.raises(UserError, match="--data-dir"):
        data.data_dir(str(isolated / "nope"))
    monkeypatch.setenv(data.ENV_VAR, str(isolated / "nope"))
    with pytest.raises(UserError, match=data.ENV_VAR):
        data.data_dir()


def test_missing_or_broken_level_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="rest data fetch apibank"):
        data.load_level(1, tmp_path)
    (tmp_path / "toolrl_processed").mkdir()
    (tmp_path / "toolrl_processed" / "level-1-api_processed.json").write_text("[{")
    with pytest.raises(UserError, match="not valid JSON"):
        data.load_level(1, tmp_path)
    with pytest.raises(UserError, match="level"):
        data.load_level(4, tmp_path)


@needs("apibank")
def test_load_levels_counts_ids_and_answers():
    sizes = {}
    for level in data.LEVELS:
        items = data.load_level(level, SHARED)
        sizes[level] = len(items)
        assert [it["id"] for it in items] == [f"Level{level}_{i}" for i in range(len(items))]
        for it in items:
            assert set(it["answer"]) >= {"name", "parameters"}
            raw = it["answer_raw"]
            assert (raw[0] if isinstance(raw, list) else raw) == it["answer"]
            assert isinstance(raw, dict) == (level == 2)  # bare dict only in L2, raw kept as is
            assert it["user"].rstrip().endswith("please only make one tool call to solve my need.</user>")
    assert sizes == data.LEVEL_SIZES == {1: 399, 2: 67, 3: 131}


def test_item_ids_round_trip():
    assert data.parse_item_id(data.item_id(3, 130)) == (3, 130)
    for bad in ("Level4_0", "level1_0", "Level1_x", "Level1", "L1_0"):
        with pytest.raises(ValueError):
            data.parse_item_id(bad)


def test_tasks_registered_and_group():
    assert registry.expand("apibank:all") == ["apibank:level-1", "apibank:level-2", "apibank:level-3"]
    assert {"apibank:level-1", "apibank:level-2", "apibank:level-3"} <= set(registry.known_tasks())


@needs("apibank")
def test_task_prompt_and_score(monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(SHARED))
    task = registry.get("apibank:level-3")
    assert task.formats == ("toolrl",)
    samples = task.samples()
    assert len(samples) == 131
    raw = json.loads((SHARED / "toolrl_processed" / "level-3-api_processed.json").read_text())
    s = samples[5]
    prompt = task.prompt(s, "toolrl")
    assert prompt.tools is None
    assert prompt.messages == [{"role": "system", "content": raw[5]["system"]}, {"role": "user", "content": raw[5]["user"]}]
    gold = raw[5]["answer"][0]
    good = task.score(s, f"<think>ok</think>\n<tool_call>\n{json.dumps(gold)}\n</tool_call>", "toolrl")
    assert good.verdict.valid and good.verdict.error_type is None
    assert good.verdict.detail["level"] == 3 and good.verdict.detail["strict"] == 1
    assert good.decoded == [gold] == good.verdict.detail["parsed"]
    two = task.score(s, f"<tool_call>\n{json.dumps(gold)}\n{json.dumps(gold)}\n</tool_call>", "toolrl")
    assert two.verdict.valid and two.verdict.detail["strict"] == 0
    bad = task.score(s, "no idea", "toolrl")
    assert not bad.verdict.valid and bad.verdict.error_type == "no_tool_call_block" and bad.verdict.detail["strict"] == 0
    with pytest.raises(UserError, match="toolrl"):
        task.prompt(s, "fc")


@needs("apibank")
def test_native_results_can_be_rescored(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(data.ENV_VAR, str(SHARED))
    task = registry.get("apibank:level-2")
    samples = task.samples()[:3]
    gold = samples[0].ground_truth
    records = [
        {"id": samples[0].id, "completion": f"<tool_call>\n{json.dumps(gold)}\n</tool_call>"},
        {"id": samples[1].id, "completion": "nothing"},
        {"id": samples[2].id, "completion": "", "backend_error": "OOM"},  # not scored: left out
    ]
    path = task.write_native_results(records, tmp_path, "m")
    assert path == tmp_path / NATIVE_DIR / "level-2.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["id"] for x in lines] == [samples[0].id, samples[1].id]
    from harness.cli import main

    assert main(["score", "apibank", str(path), "--out", str(tmp_path / "o.jsonl")]) == 0
    out = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert [(o["id"], o["level"], o["score"]) for o in out] == [(samples[0].id, 2, 1), (samples[1].id, 2, 0)]
