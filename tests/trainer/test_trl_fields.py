"""The `grpo:`/`sft:` sections take any TRL GRPOConfig/SFTConfig field (introspected from TRL), plus a few of ours."""

from __future__ import annotations

import json

import pytest

from harness.types import UserError
from trainer import trl_fields
from trainer.config import load_config
from trainer.sft_config import load_sft_config
from trainer.trl_section import GrpoConfig, SftTrainConfig


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg, msg
    return msg


def test_shipped_snapshot_is_the_installed_trl():
    """trainer/trl_fields.json must equal what the installed TRL's dataclasses say (`python -m trainer.trl_fields`)."""
    shipped = json.loads(trl_fields.SNAPSHOT.read_text())
    assert shipped == trl_fields.introspect()
    assert len(shipped["GRPOConfig"]) > 150 and "top_entropy_quantile" in shipped["GRPOConfig"]


def test_type_strings():
    from typing import Literal

    from transformers.trainer_utils import SchedulerType

    assert trl_fields.type_string(int | None) == ("int|None", None)
    assert trl_fields.type_string(float, 500) == ("int|float", None)  # save_steps: 500 stays an int
    assert trl_fields.type_string(SchedulerType | str)[1][:2] == ("linear", "cosine")
    assert trl_fields.type_string(str | None | Literal[False]) == ("bool|str|None", None)
    assert trl_fields.type_string(list[str] | None) == ("list[str]|None", None)


def test_any_trl_field_is_accepted_typed_and_passed_through():
    cfg = load_config("rest", ["grpo.top_entropy_quantile=0.2", "grpo.generation_kwargs={min_new_tokens: 4}",
                               "grpo.lr_scheduler_type=cosine", "grpo.save_strategy=no", "grpo.optim=adamw_torch_fused",
                               "grpo.logging_steps=5", "grpo.warmup_steps=0.1"])
    g = cfg.grpo
    assert g.top_entropy_quantile == 0.2 and g.generation_kwargs == {"min_new_tokens": 4}
    assert g.save_strategy == "no"  # YAML 1.1 reads `no` as false; a choice field takes it back
    assert g.logging_steps == 5 and isinstance(g.logging_steps, int) and g.warmup_steps == 0.1
    assert g.max_grad_norm == 1.0 and g.use_liger_kernel is False  # unset: TRL's defaults
    assert g.gradient_checkpointing is False  # unset: our default (TRL's is true)
    kw = g.trl_kwargs()
    assert kw["top_entropy_quantile"] == 0.2 and kw["lr_scheduler_type"] == "cosine"
    assert not set(kw) & set(GrpoConfig.ADDITIONS)  # ours are resolved by trainer.run, never passed as given
    assert "max_grad_norm" not in kw  # TRL's own default is TRL's business


@pytest.mark.parametrize("override, expected", [
    ("grpo.top_entropy_quantil=0.2", "unknown config key 'grpo.top_entropy_quantil'; did you mean 'grpo.top_entropy_quantile'?"),
    ("grpo.zzz_qqq=1", "not a field of TRL 1.16.0's GRPOConfig nor one of ours (max_prompt_length, bf16, pure_bf16, use_vllm)"),
    ("grpo.lr_scheduler_type=cosin", "grpo.lr_scheduler_type: 'cosin' is not one of linear, cosine"),
    ("grpo.generation_kwargs=[1]", "grpo.generation_kwargs: expected dict or str or null, got [1]"),
    ("grpo.output_dir=x", "grpo.output_dir: set by the top-level output_dir"),
    ("grpo.report_to=wandb", "set by wandb.enabled"),
    ("grpo.use_vllm=maybe", "grpo.use_vllm: expected true, false or auto"),
    ("grpo.extra=[1]", "grpo.extra: expected a mapping"),
])
def test_section_errors_are_one_line(override, expected):
    with pytest.raises(UserError) as exc:
        load_config("rest", [override])
    assert expected in one_line(exc)


def test_sft_section_takes_sft_fields_only():
    cfg = load_sft_config("sft", ["sft.dataset_text_field=text", "sft.assistant_only_loss=false"])
    assert cfg.sft.dataset_text_field == "text"
    with pytest.raises(UserError) as exc:
        load_sft_config("sft", ["sft.num_generations=4"])  # a GRPOConfig field, not an SFTConfig one
    assert "unknown config key 'sft.num_generations'" in one_line(exc)
    s = SftTrainConfig()
    assert s.trl_kwargs()["save_strategy"] == "no"  # final model only...
    s.save_steps = 50
    assert s.trl_kwargs()["save_strategy"] == "steps" and s.save_steps == 50  # ...unless save_steps is given


def test_grpo_args_pass_the_section_through_to_trl(tmp_path):
    from trainer.run import grpo_args, sft_args

    cfg = load_config("rest", [f"output_dir={tmp_path}", "grpo.use_cpu=true", "grpo.bf16=false",
                               "grpo.top_entropy_quantile=0.2", "grpo.max_steps=3", "grpo.save_strategy=no"])
    args = grpo_args(cfg)
    assert (args.top_entropy_quantile, args.max_steps, args.learning_rate, args.num_generations) == (0.2, 3, 1e-6, 4)
    assert (args.lr_scheduler_type.value, args.weight_decay, args.logging_steps, args.save_strategy.value) == (
        "constant", 0.01, 1, "no")
    assert args.gradient_checkpointing is False and args.bf16 is False and args.use_vllm is False
    assert args.output_dir == str(tmp_path) and args.report_to == []
    sft = load_sft_config("sft", [f"output_dir={tmp_path}", "sft.use_cpu=true", "sft.bf16=false", "sft.neftune_noise_alpha=5"])
    sargs = sft_args(sft)
    assert (sargs.neftune_noise_alpha, sargs.learning_rate, sargs.completion_only_loss, sargs.packing) == (5.0, 5e-6, True, False)
    assert sargs.save_strategy.value == "no" and sargs.max_length == 8192


def test_trl_refusing_the_section_is_one_line(tmp_path):
    from trainer.run import grpo_args

    cfg = load_config("rest", [f"output_dir={tmp_path}", "grpo.use_cpu=true", "grpo.bf16=false",
                               "grpo.steps_per_generation=2", "grpo.generation_batch_size=16", "grpo.save_steps=2"])
    with pytest.raises(UserError) as exc:
        grpo_args(cfg)
    msg = one_line(exc)
    assert msg.startswith("grpo: ") and "generation_batch_size" in msg and "refused" in msg


def test_other_trl_versions_are_introspected_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("REST_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(trl_fields, "installed_versions", lambda: {"trl": "9.9.9", "transformers": "0.0.1"})
    calls = []
    real = trl_fields.introspect
    monkeypatch.setattr(trl_fields, "introspect", lambda: calls.append(1) or {**real(), "versions": {"trl": "9.9.9", "transformers": "0.0.1"}})
    trl_fields.schema.cache_clear()
    try:
        assert "top_entropy_quantile" in trl_fields.trl_fields("GRPOConfig") and calls == [1]
        trl_fields.schema.cache_clear()
        assert "top_entropy_quantile" in trl_fields.trl_fields("GRPOConfig") and calls == [1]  # from the cache file
        assert (tmp_path / "trl_fields" / "trl-9.9.9_transformers-0.0.1.json").is_file()
    finally:
        trl_fields.schema.cache_clear()


def test_config_yaml_of_runs_before_the_change_still_loads():
    """OUTPUT_DIR/config.yaml written by the hand-copied sections (incl. `extra: {}`, SFT `save_steps: null`) loads:
    `--resume` of an older run keeps working, with the same values."""
    from pathlib import Path

    data = Path(__file__).parent / "data"
    old, new = load_config(data / "old_config_rest.yaml").grpo, load_config("rest").grpo
    assert "extra" not in old.to_dict() and len(old.to_dict()) > len(new.to_dict())  # the old dump listed every field
    for key in set(old.to_dict()) | set(new.to_dict()):  # and the presets still resolve to the same values
        assert getattr(old, key) == getattr(new, key), key
    old_sft, new_sft = load_sft_config(data / "old_config_sft.yaml").sft, load_sft_config("sft").sft
    assert not old_sft.is_set("save_steps") and old_sft.trl_kwargs()["save_strategy"] == "no"
    for key in set(old_sft.to_dict()) | set(new_sft.to_dict()):
        assert getattr(old_sft, key) == getattr(new_sft, key), key


def test_type_strings_are_parsed_not_evaluated():
    from trainer.trl_section import hint_of

    assert hint_of("int|None") == (int | None)
    assert hint_of("list[str]|str") == (list[str] | str)
    with pytest.raises(ValueError, match="unknown type"):
        hint_of("__import__('os').system('true')")
