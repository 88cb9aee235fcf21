"""`data.train: auto` (the `grpo` preset and its children): ToolRL's RL rows when fetched, else the SFT file, one line."""

from __future__ import annotations

import json

import pytest

from harness.toolrl.data import RL_FILE
from harness.types import UserError
from tests.trainer.test_rl_data import verl_parquet
from trainer.config import AUTO_TRAIN, load_config
from trainer.run import resolve_train_data


def test_rl_presets_default_to_auto_and_paper_presets_name_the_rl_rows():
    assert load_config("grpo").data.train == AUTO_TRAIN
    assert load_config("rest").data.train == AUTO_TRAIN
    assert load_config("cpu-smoke").data.train == "toolrl:sft"
    for paper in ("grpo-paper", "rest-paper"):
        from trainer.config import _read_yaml

        assert _read_yaml(paper)["data"]["train"] == "toolrl:rl"


def test_auto_resolves_to_the_sft_file_with_a_line_when_rl_rows_are_absent(toolrl_dir):
    (toolrl_dir / "rlla_sft.json").write_text(json.dumps([{"instruction": "S", "input": "U", "output": "<response>x</response>"}]))
    cfg = load_config("grpo")
    lines: list[str] = []
    resolved = resolve_train_data(cfg, lines.append)
    assert resolved.data.train == "toolrl:sft" and cfg.data.train == AUTO_TRAIN  # a copy; the loaded config is kept
    assert len(lines) == 1 and "toolrl:rl" in lines[0] and "toolrl:sft" in lines[0] and "rest data fetch toolrl" in lines[0]
    verl_parquet(toolrl_dir / RL_FILE, ["q0"])
    lines.clear()
    assert resolve_train_data(cfg, lines.append).data.train == "toolrl:rl"
    assert lines == ["data: data.train auto -> toolrl:rl (ToolRL's 3,920 RL rows, the paper's RL data)"]
    explicit = load_config("grpo", ["data.train=toolrl:sft"])
    assert resolve_train_data(explicit, lines.append) is explicit and len(lines) == 1  # nothing to resolve, no line


def test_auto_with_no_data_at_all_is_a_one_line_config_error(toolrl_dir):
    with pytest.raises(UserError, match=r"^data.train \(auto\): toolrl:sft needs rlla_sft.json") as err:
        load_config("grpo")
    assert "\n" not in str(err.value) and "rest data fetch toolrl" in str(err.value)
