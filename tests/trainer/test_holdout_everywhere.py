"""One held-out rule for RL and SFT: the same default sets, the same config check, the same drop; eval data is not emptied."""

from __future__ import annotations

import shutil

import pytest

from harness.toolrl.convert import USER_HEADER
from harness.types import UserError
from tests.trainer.test_rl_data import rlla, verl_parquet, write_jsonl
from trainer import data as D
from trainer.config import DataConfig, load_config
from trainer.sft_config import SftDataConfig, load_sft_config


def test_rl_and_sft_default_to_the_same_holdout_sets():
    assert DataConfig().holdout == SftDataConfig().holdout == list(D.DEFAULT_HOLDOUT)
    assert DataConfig().holdout is not DataConfig().holdout  # a fresh list each time
    assert load_config("grpo").data.holdout == list(D.DEFAULT_HOLDOUT)
    assert load_sft_config("sft").data.holdout == list(D.DEFAULT_HOLDOUT)


@pytest.mark.parametrize("load", [load_config, load_sft_config], ids=["rl", "sft"])
def test_benchmark_holdout_specs_are_accepted_and_typos_are_one_line(load):
    preset = "grpo" if load is load_config else "sft"
    cfg = load(preset, ["data.holdout=[apibank:level-2, bfcl:live, toolrl:test]"])
    assert cfg.data.holdout == ["apibank:level-2", "bfcl:live", "toolrl:test"]
    for bad, match in (("apibank:level-9", "data.holdout\\[1\\]: 'apibank:level-9'"), ("./none.jsonl", "does not exist")):
        with pytest.raises(UserError, match=match) as err:
            load(preset, [f"data.holdout=[bfcl, {bad}]"])
        assert "\n" not in str(err.value)


def test_eval_dataset_is_loaded_whole_though_it_is_a_holdout_set(tmp_path, toolrl_dir):
    from trainer.run import load_eval_dataset

    verl_parquet(toolrl_dir / "rlla_4k_test.parquet", ["q0", "q1", "q2"])
    eval_copy = tmp_path / "eval.parquet"
    shutil.copy(toolrl_dir / "rlla_4k_test.parquet", eval_copy)
    train = write_jsonl(tmp_path / "train.jsonl", [rlla("other")])
    cfg = load_config("grpo", [f"data.train={train}", f"data.eval={eval_copy}"])
    assert "toolrl:test" in cfg.data.holdout
    with pytest.raises(UserError, match="every row"):  # what the default held-out check would do to it
        D.load_dataset(str(eval_copy), holdout=cfg.data.holdout, log=lambda _: None)
    lines: list[str] = []
    assert load_eval_dataset(cfg, None, lines.append).num_rows == 3
    assert lines == []
    assert load_eval_dataset(load_config("grpo", [f"data.train={train}"]), None) is None


def test_sft_rows_drop_benchmark_items_by_question_as_rl_does(tmp_path, smollm_tokenizer):
    """SFT used its own exact-prompt loop; through `apply_holdout` a BFCL question retold in ToolRL's format is dropped too."""
    from harness.bfcl.data import load_entries
    from trainer.sft_data import prepare_rows

    entry = load_entries("simple_python", language_hint=False)[0]
    question = next(m["content"] for m in entry["question"][0] if m["role"] == "user")
    train = write_jsonl(tmp_path / "train.jsonl", [rlla(question), rlla("not a benchmark question")])
    cfg = load_sft_config("sft", [f"data.train={train}", "data.holdout=[bfcl:simple_python]", "data.max_tokens=null"])
    lines: list[str] = []
    rows = prepare_rows(cfg, smollm_tokenizer, log=lines.append)
    assert [r["prompt"][1]["content"] for r in rows] == [f"{USER_HEADER}\n<user> not a benchmark question </user>"]
    assert lines[1:] == ["data: dropped 1 training rows that are items of bfcl:simple_python (data.exclude_holdout)"]
    with pytest.raises(UserError, match="by the same user question") as err:
        prepare_rows(load_sft_config("sft", [f"data.train={train}", "data.holdout=[bfcl:simple_python]",
                                             "data.max_tokens=null", "data.exclude_holdout=false"]), smollm_tokenizer)
    assert "\n" not in str(err.value)
