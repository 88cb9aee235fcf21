"""Config loading: presets, typed `--set` overrides, and one-line errors raised before any model loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.types import UserError
from trainer.config import PRESETS, TrainConfig, dump_config, load_config, parse_override

REPO = Path(__file__).resolve().parents[2]


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg, msg
    return msg


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_load_and_validate(preset):
    # the paper presets train on rlla_4k (`rest data fetch toolrl`); validate them on the SFT file where it is absent
    data = [] if preset not in ("grpo-paper", "rest-paper") else ["data.train=toolrl:sft"]
    cfg = load_config(preset, data)
    assert isinstance(cfg, TrainConfig)
    assert (cfg.grpo.per_device_train_batch_size * cfg.grpo.gradient_accumulation_steps) % cfg.grpo.num_generations == 0


def test_preset_semantics():
    assert load_config("grpo").weights.mode == "uniform"
    code = load_config("rest-code").weights
    assert (code.mode, code.name, code.format, code.args, code.think, code.step_increase) == ("code", 1.2, 1.0, 0.6, 0.6, 0.002)
    assert load_config("rest").weights.mode == "entropy"
    smoke = load_config("cpu-smoke")
    assert smoke.grpo.use_cpu and not smoke.grpo.bf16 and 0 < smoke.grpo.max_steps <= 4
    assert smoke.model == "embedded"


def test_overrides_are_typed():
    cfg = load_config("rest", ["grpo.learning_rate=1e-5", "grpo.max_steps=7", "grpo.bf16=false",
                               "eval.tasks=bfcl:simple_python,apibank:level-1", "weights.entropy_ema=0.5",
                               "grpo.loss_type=dr_grpo"])
    assert cfg.grpo.learning_rate == 1e-5 and isinstance(cfg.grpo.learning_rate, float)
    assert cfg.grpo.max_steps == 7 and cfg.grpo.bf16 is False
    assert cfg.eval.tasks == ["bfcl:simple_python", "apibank:level-1"]
    assert cfg.weights.entropy_ema == 0.5
    assert cfg.grpo.loss_type == "dr_grpo"
    assert parse_override("a.b=[1, 2]") == (["a", "b"], [1, 2])


@pytest.mark.parametrize(
    "override, expected",
    [
        ("grpo.learnin_rate=1e-5", "did you mean 'grpo.learning_rate'"),
        ("grpo.max_steps=ten", "grpo.max_steps: expected an integer"),
        ("grpo.bf16=maybe", "grpo.bf16: expected true, false or auto"),
        ("grpo.loss_type=dapoo", "did you mean 'dapo'"),
        ("data.train=/no/such/file.parquet", "does not exist"),
        ("weights.mode=entropi", "weights.mode"),
        ("grpo.num_generations=3", "divisible by grpo.num_generations"),
        ("modle=x", "did you mean 'model'"),
        ("eval.mode=bg", "eval.mode: 'bg' is not one of auto, inprocess, subprocess, background"),
        ("eval.format=tool", "did you mean 'toolrl'"),
    ],
)
def test_errors_are_one_clear_line(override, expected):
    with pytest.raises(UserError) as exc:
        load_config("rest", [override])
    assert expected in one_line(exc)


def test_grpo_extra_still_works_and_is_checked_against_trl():
    """The old `extra:` passthrough: its keys are merged up into the section (which takes any GRPOConfig field)."""
    with pytest.raises(UserError) as exc:
        load_config("rest", ["grpo.extra={top_entropy_quantil: 0.2}"])
    assert "did you mean 'grpo.extra.top_entropy_quantile'" in one_line(exc)
    cfg = load_config("rest", ["grpo.extra={top_entropy_quantile: 0.2}"])
    assert cfg.grpo.top_entropy_quantile == 0.2 and "extra" not in cfg.grpo.to_dict()
    assert cfg == load_config("rest", ["grpo.top_entropy_quantile=0.2"])


def test_unknown_preset_suggests():
    with pytest.raises(UserError) as exc:
        load_config("rest-cod")
    assert "rest-code" in one_line(exc)


def test_base_inheritance_and_dump_roundtrip(tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text("base: rest-code\ngrpo:\n  max_steps: 5\nweights:\n  name: 2.0\n")
    cfg = load_config(child)
    assert cfg.weights.mode == "code" and cfg.weights.name == 2.0 and cfg.grpo.max_steps == 5
    assert cfg.grpo.loss_type == "dapo"  # from grpo.yaml, two levels up
    dump_config(cfg, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == cfg
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["weights"]["name"] == 2.0


def test_cli_errors_before_any_heavy_import(tmp_path):
    """`rest train` with a bad key exits 2 with one stderr line, and never imported torch/trl/transformers."""
    code = (
        "import sys\n"
        "from trainer.cli_train import add_parser, run\n"
        "import argparse\n"
        "p = argparse.ArgumentParser(); sub = p.add_subparsers(); add_parser(sub)\n"
        "from harness.types import UserError\n"
        "args = p.parse_args(['train', '--config', 'cpu-smoke', '--set', sys.argv[1]])\n"
        "try:\n    run(args)\nexcept UserError as e:\n    print('ERR', e)\n"
        "print('HEAVY', sorted(m for m in ('torch', 'trl', 'transformers') if m in sys.modules))\n"
    )
    for bad in ("grpo.max_stepz=3", "grpo.max_steps=x", "data.train=missing.json"):
        out = subprocess.run([sys.executable, "-c", code, bad], cwd=REPO, capture_output=True, text=True, timeout=60)
        lines = out.stdout.splitlines()
        assert lines[0].startswith("ERR "), out.stdout + out.stderr
        assert lines[-1] == "HEAVY []", out.stdout


def test_cli_exit_code_and_single_line(capsys):
    from harness.cli import main

    assert main(["train", "--config", "rest", "--set", "grpo.epsilom=0.3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "did you mean 'grpo.epsilon'" in err


def test_eval_mode_and_format_choices():
    """`eval.format` takes what `rest eval --format` takes; `eval.mode` defaults to auto (background with several ranks)."""
    import argparse

    from harness.cli import build_parser
    from trainer.config import EVAL_FORMATS

    cfg = load_config("rest", ["eval.mode=background", "eval.format=toolrl"])
    assert (cfg.eval.mode, cfg.eval.format) == ("background", "toolrl")
    assert load_config("rest").eval.mode == "auto"
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    fmt = next(a for a in sub.choices["eval"]._actions if "--format" in a.option_strings)
    assert tuple(fmt.choices) == EVAL_FORMATS


def test_sft_negative_max_steps_other_than_minus_one_is_refused():
    from trainer.sft_config import load_sft_config

    with pytest.raises(UserError) as exc:
        load_sft_config("sft", ["sft.max_steps=-3"])
    assert "sft.max_steps" in one_line(exc)
    assert load_sft_config("sft", ["sft.max_steps=-1"]).sft.max_steps == -1


def test_corrupt_training_parquet_is_one_line(tmp_path):
    from trainer.data import read_records

    bad = tmp_path / "rows.parquet"
    bad.write_bytes(b"PAR1 not really a parquet file")
    with pytest.raises(UserError) as exc:
        read_records(str(bad))
    assert "rows.parquet" in one_line(exc)
