"""rlla rows from the shared ToolRL files, alias resolution, hub ids and the GRPO dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.toolrl import data as toolrl_data
from harness.types import UserError
from tests.data_paths import dataset_dir, needs
from trainer import data as D

TOOLRL = dataset_dir("toolrl")
needs_shared = needs("toolrl", "apibank")


@needs_shared
def test_verl_parquet_rows():
    rows = D.load_rows("toolrl:test")
    assert len(rows) == 80
    for r in rows:
        assert [m["role"] for m in r["prompt"]] == ["system", "user"]
        assert all(isinstance(m["content"], str) and m["content"] for m in r["prompt"])
        assert r["ground_truth"].startswith("<think>")
        assert "<tool_call>" in r["ground_truth"] or "<response>" in r["ground_truth"]


@needs_shared
def test_sft_json_rows():
    rows = D.load_rows("toolrl:sft")
    assert len(rows) == 400
    raw = json.loads((TOOLRL / "rlla_sft.json").read_text())
    assert rows[7]["prompt"][0]["content"] == raw[7]["instruction"]
    assert rows[7]["prompt"][1]["content"] == raw[7]["input"]
    assert rows[7]["ground_truth"] == raw[7]["output"]
    assert sum("<tool_call>" in r["ground_truth"] for r in rows) == 346  # 341 tool_call only + 5 both


def test_alias_via_env(tmp_path, monkeypatch):
    (tmp_path / "rlla_sft.json").write_text(json.dumps([{"instruction": "S", "input": "U", "output": "<response>x</response>"}]))
    monkeypatch.setenv("REST_TOOLRL_DATA", str(tmp_path))
    kind, loc = D.resolve_data_spec("toolrl:sft")
    assert (kind, Path(loc)) == ("json", tmp_path / "rlla_sft.json")
    assert D.load_rows("toolrl:sft") == [{"prompt": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}],
                                          "ground_truth": "<response>x</response>"}]


def test_missing_alias_names_the_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("REST_TOOLRL_DATA", str(tmp_path))
    monkeypatch.setenv("REST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(toolrl_data, "search_dirs", lambda: [tmp_path])
    with pytest.raises(UserError, match="REST_TOOLRL_DATA"):
        D.resolve_data_spec("toolrl:test")


@pytest.mark.parametrize("spec, kind", [("org/dataset", "hub"), ("toolrl:tset", None), ("./x.parquet", None), ("weird", None)])
def test_spec_kinds(spec, kind):
    if kind:
        assert D.resolve_data_spec(spec)[0] == kind
    else:
        with pytest.raises(UserError):
            D.resolve_data_spec(spec)


def test_jsonl_and_verl_records(tmp_path):
    rec = {"prompt": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}],
           "reward_model": {"ground_truth": "<think>a</think>\n<response>b</response>", "style": "rule"}}
    (tmp_path / "d.jsonl").write_text(json.dumps(rec) + "\n\n" + json.dumps(rec) + "\n")
    rows = D.load_rows(str(tmp_path / "d.jsonl"))
    assert len(rows) == 2 and rows[0]["ground_truth"] == rec["reward_model"]["ground_truth"]
    with pytest.raises(UserError, match="known schemas"):
        D.to_rlla_row({"question": "q"})


class _CharTokenizer:
    """Counts characters as tokens: enough to test the prompt-length filter without a model tokenizer."""

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True):
        return "".join(m["content"] for m in messages)

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": list(range(len(text)))}


def test_load_dataset_filters_long_prompts(tmp_path):
    recs = [{"instruction": "S" * n, "input": "U", "output": "<response>x</response>"} for n in (5, 50, 9)]
    path = tmp_path / "d.json"
    path.write_text(json.dumps(recs))
    ds = D.load_dataset(str(path), _CharTokenizer(), max_prompt_length=10)
    assert ds.column_names == ["prompt", "ground_truth"] and len(ds) == 2
    assert D.load_dataset(str(path), _CharTokenizer(), max_prompt_length=10, limit=1).num_rows == 1
    with pytest.raises(UserError, match="exceed"):
        D.load_dataset(str(path), _CharTokenizer(), max_prompt_length=3)
