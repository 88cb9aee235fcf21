"""Supervised (SFT / TSFT / RSFT) run configuration, on the same YAML machinery as the RL configs.

A config is an SFT config when its top-level `method` is `sft`, `tsft` or
`rsft`; `rest train` hands such configs to `trainer.run.train_sft` (see `maybe_run_sft`).
Loading, `base:` inheritance, `--set` overrides and one-line `UserError`s are
`trainer.config`'s own helpers, imported, so both kinds of config behave alike.

- `sft`: plain completion-only cross-entropy (every weight 1; `weights` must stay uniform).
- `tsft` / `rsft`: the same loss with per-token weights by region (trainer/regions.py +
  trainer/weights.py), so tool-call tokens (TSFT) or reasoning tokens (RSFT) weigh more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from harness.types import UserError
from trainer.config import (
    LoraConfig,
    RunConfig,
    _build,
    _check_choice,
    _read_yaml,
    apply_overrides,
    check_data,
    looks_like_path,
)
from trainer.data import DEFAULT_HOLDOUT
from trainer.trl_section import SftTrainConfig

METHODS = ("sft", "tsft", "rsft")
LENGTH_MODES = ("chat", "raw")


@dataclass
class SftDataConfig:
    """Training rows (ToolRL rlla format) and how they are filtered, shuffled and checked."""

    train: str = "toolrl:sft"
    eval: str | None = None
    limit: int | None = None  # keep the first N rows after filtering and shuffling
    max_tokens: int | None = 1024  # drop rows whose prompt + answer exceed this many tokens (None: keep all)
    length_mode: str = "chat"  # chat: the templated training sequence; raw: system + user + answer texts
    shuffle_seed: int | None = None  # deterministic shuffle of the kept rows (None: file order)
    holdout: list[str] = field(default_factory=lambda: list(DEFAULT_HOLDOUT))  # evaluation sets kept out of training
    exclude_holdout: bool = True  # true: drop held-out items from training (count printed); false: overlap is an error


@dataclass
class SftLoraConfig(LoraConfig):
    """LoRA adapters; `merge: true` also writes the merged full model, so RL configs can start from it as is."""

    merge: bool = True


@dataclass
class SftConfig(RunConfig):
    """One supervised run, fully resolved; written to OUTPUT_DIR/config.yaml."""

    method: str = "sft"
    data: SftDataConfig = field(default_factory=SftDataConfig)
    sft: SftTrainConfig = field(default_factory=SftTrainConfig)
    lora: SftLoraConfig = field(default_factory=SftLoraConfig)
    output_dir: str = "runs/sft"

    KEY_ORDER: ClassVar[tuple[str, ...]] = ("method", "model", "tokenizer", "data", "weights", "sft", "lora", "wandb",
                                            "output_dir")


def raw_config(spec: str | Path | None, overrides: list[str] | None = None) -> dict[str, Any]:
    raw = _read_yaml(spec) if spec is not None else {}
    return apply_overrides(raw, overrides or [])


def is_sft_raw(raw: dict[str, Any]) -> bool:
    return "method" in raw


def load_sft_config(spec: str | Path | None = None, overrides: list[str] | None = None) -> SftConfig:
    """Preset name or YAML path, plus `key.sub=value` overrides -> a validated SftConfig."""
    cfg = _build(SftConfig, raw_config(spec, overrides), "")
    validate_sft(cfg)
    return cfg


def validate_sft(cfg: SftConfig) -> None:
    """Cheap semantic checks that must fail before any model loads."""
    _check_choice(cfg.method, METHODS, "method")
    _check_choice(cfg.data.length_mode, LENGTH_MODES, "data.length_mode")
    mode = cfg.weights.mode
    if cfg.method == "sft" and mode != "uniform":
        raise UserError(f"method sft trains every token with weight 1; weights.mode={mode} needs method tsft or rsft")
    if cfg.method != "sft" and mode == "entropy":
        raise UserError(f"method {cfg.method}: weights.mode=entropy needs RL rollouts; use code (static region weights)")
    s = cfg.sft
    for name in ("per_device_train_batch_size", "gradient_accumulation_steps", "logging_steps"):
        if getattr(s, name) < 1:
            raise UserError(f"sft.{name}: must be >= 1, got {getattr(s, name)}")
    if s.max_steps < -1:  # TRL reads any negative value as "train by epochs"; only -1 says so on purpose
        raise UserError(f"sft.max_steps: a positive number of steps, or -1 to train for num_train_epochs; got {s.max_steps}")
    if s.max_steps == 0 or (s.max_steps < 0 and s.num_train_epochs <= 0):
        raise UserError("sft.max_steps: set max_steps > 0 or num_train_epochs > 0")
    if s.learning_rate <= 0:
        raise UserError(f"sft.learning_rate: must be > 0, got {s.learning_rate}")
    if cfg.data.max_tokens is not None and cfg.data.max_tokens < 1:
        raise UserError(f"data.max_tokens: must be >= 1 or null, got {cfg.data.max_tokens}")
    if cfg.wandb.mode is not None:
        _check_choice(cfg.wandb.mode, ("online", "offline", "disabled"), "wandb.mode")
    check_data(cfg.data)
    for where, spec in (("model", cfg.model), ("tokenizer", cfg.tokenizer)):
        if spec and spec != "embedded" and looks_like_path(spec) and not Path(spec).expanduser().exists():
            raise UserError(f"{where}: {spec!r} does not exist")


def maybe_run_sft(spec: str, overrides: list[str], output_dir: str | None = None, max_steps: int | None = None,
                  dry_run: bool = False, resume: bool = False) -> int | None:
    """`rest train` hook: run an SFT config and return the exit code, or None when `spec` is an RL config."""
    overrides = list(overrides)
    if not is_sft_raw(raw_config(spec, overrides)):
        return None
    if output_dir:
        overrides.append(f"output_dir={output_dir}")
    if max_steps is not None:
        overrides.append(f"sft.max_steps={max_steps}")
    cfg = load_sft_config(spec, overrides)
    if dry_run:
        import sys

        from trainer.config import config_yaml

        sys.stdout.write(config_yaml(cfg))
        return 0
    from trainer.run import train_sft  # heavy imports only once the config is known to be good

    train_sft(cfg, resume=resume)
    print(f"rest train: done; {cfg.method} model, checkpoints and metrics.jsonl in {cfg.output_dir}")
    return 0
