"""Training configuration: dataclasses, YAML presets, `--set` overrides, validation.

Everything here runs before any model or heavy library loads, so a typo in a
config costs the user one line and a second, not a minute of model loading.
Errors are `UserError`s with one clear line (unknown key with a close-match
suggestion, wrong type, missing data file).
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from harness.toolrl.schedule import RewardConfig
from harness.types import UserError
from trainer.data import DEFAULT_HOLDOUT
from trainer.trl_fields import trl_label
from trainer.trl_section import GrpoConfig, TrlSection
from trainer.typed import build as _build
from trainer.typed import check_choice as _check_choice
from trainer.weights import WeightConfig

__all__ = ["GrpoConfig", "TrainConfig", "dump_config", "load_config", "parse_override", "validate"]

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
PRESETS = ("grpo", "rest-code", "rest", "grpo-paper", "rest-paper", "dr-grpo", "cpu-smoke")  # RL presets
SFT_PRESETS = ("sft", "tsft", "rsft", "sft-smollm2")
LOSS_TYPES = ("grpo", "bnpo", "dr_grpo", "dapo", "cispo", "sapo", "luspo")  # vespo: not linear in A, refused
SCALE_REWARDS = ("group", "batch", "none")
EVAL_MODES = ("auto", "inprocess", "subprocess", "background")  # trainer.eval_callback.MODES
EVAL_FORMATS = ("auto", "prompting", "fc", "toolrl", "apibank")  # `rest eval --format` choices
AUTO_TRAIN = "auto"  # data.train of the RL presets: trainer.data.default_rl_train_spec() when the run starts


@dataclass
class DataConfig:
    """Where the rlla-format rows come from (path, `toolrl:sft|test` alias or hub id)."""

    train: str = AUTO_TRAIN  # auto: toolrl:rl when fetched, else toolrl:sft (resolved when the run starts, one line)
    eval: str | None = None
    limit: int | None = None  # keep only the first N rows (after prompt-length filtering)
    holdout: list[str] = field(default_factory=lambda: list(DEFAULT_HOLDOUT))  # evaluation sets kept out of training
    exclude_holdout: bool = True  # true: drop held-out items from training (count printed); false: overlap is an error


@dataclass
class LoraConfig:
    """Optional LoRA adapters (peft); off by default."""

    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"


@dataclass
class WandbConfig:
    """W&B logging; `mode: offline` writes runs locally (tests use it)."""

    enabled: bool = False
    project: str = "rest-harness"
    run_name: str | None = None
    mode: str | None = None  # online | offline | disabled; None keeps WANDB_MODE from the environment


@dataclass
class EvalConfig:
    """Checkpoint evaluation (run by an on-save callback): which tasks and how much of them."""

    tasks: list[str] = field(default_factory=list)
    limit: int | None = None
    on_save: bool = False
    max_new_tokens: int = 512
    mode: str = "auto"  # auto | inprocess | subprocess | background (trainer/eval_callback.py); auto: background
    #                     with several processes (never hold the other ranks), else inprocess
    format: str | None = "auto"  # prompt format, as `rest eval --format` (toolrl: the paper scores BFCL in ToolRL's format)


@dataclass
class RunConfig:
    """Base of a whole run's config dataclass (RL `TrainConfig`, SFT `SftConfig`), the one `config_yaml` writes:
    the sections every run has. `KEY_ORDER` is the order config.yaml lists them in."""

    model: str = "embedded"
    tokenizer: str | None = None
    weights: WeightConfig = field(default_factory=WeightConfig)
    wandb: WandbConfig = field(default_factory=WandbConfig)

    KEY_ORDER: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """The fields by name in `KEY_ORDER`, nested dataclass sections as dicts (TRL sections copied as they are)."""
        data = dataclasses.asdict(self)
        return {k: data[k] for k in (*self.KEY_ORDER, *[k for k in data if k not in self.KEY_ORDER])}


@dataclass
class TrainConfig(RunConfig):
    """One training run, fully resolved; written to OUTPUT_DIR/config.yaml."""

    data: DataConfig = field(default_factory=DataConfig)
    reward: dict[str, Any] = field(default_factory=dict)  # kwargs of harness.toolrl.schedule.RewardConfig
    grpo: GrpoConfig = field(default_factory=GrpoConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    output_dir: str = "runs/train"

    KEY_ORDER: ClassVar[tuple[str, ...]] = ("model", "tokenizer", "data", "reward", "weights", "grpo", "lora", "wandb",
                                            "eval", "output_dir")


# ---------------------------------------------------------------- loading


def preset_path(name: str) -> Path:
    return CONFIG_DIR / f"{name}.yaml"


def _resolve_spec(spec: str, relative_to: Path | None = None) -> Path:
    """A preset name (`rest`) or a YAML path (relative paths of `base:` are relative to the including file)."""
    if spec in PRESETS or (not spec.endswith((".yaml", ".yml")) and "/" not in spec and preset_path(spec).is_file()):
        return preset_path(spec)
    path = Path(spec).expanduser()
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    return path


def _read_yaml(spec: str | Path, relative_to: Path | None = None, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a config file or preset; a `base:` key names a file or preset to start from."""
    path = _resolve_spec(str(spec), relative_to)
    if not path.is_file():
        hint = difflib.get_close_matches(str(spec), PRESETS, n=1)
        more = f" (did you mean preset {hint[0]!r}?)" if hint else f"; presets: {', '.join(PRESETS)}"
        raise UserError(f"config {str(spec)!r} not found{more}")
    if path.resolve() in _seen:
        raise UserError(f"{path}: `base:` chain loops back to itself")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not a text YAML file (byte {exc.start} is not UTF-8)") from None
    except OSError as exc:
        raise UserError(f"cannot read config {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except RecursionError:
        raise UserError(f"{path}: YAML nested too deeply to read") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: a config must be a mapping of keys, got {type(raw).__name__}")
    base = raw.pop("base", None)
    if base is None:
        return raw
    return _deep_merge(_read_yaml(str(base), path.parent, (*_seen, path.resolve())), raw)


def _deep_merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "extra" else v
    return out


def parse_override(item: str) -> tuple[list[str], Any]:
    """`grpo.learning_rate=1e-5` -> (["grpo", "learning_rate"], "1e-5" parsed as YAML)."""
    if "=" not in item:
        raise UserError(f"--set {item!r}: expected KEY=VALUE, e.g. grpo.max_steps=10")
    key, _, text = item.partition("=")
    keys = [k for k in key.strip().split(".") if k]
    if not keys:
        raise UserError(f"--set {item!r}: empty key")
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        value = text
    return keys, value


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    out = _deep_merge(raw, {})
    for item in overrides:
        keys, value = parse_override(item)
        node = out
        for k in keys[:-1]:
            nxt = node.get(k)
            if not isinstance(nxt, dict):
                nxt = {}
                node[k] = nxt
            node = nxt
        node[keys[-1]] = value
    return out


def load_config(spec: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """Preset name or YAML path, plus `key.sub=value` overrides -> a validated TrainConfig."""
    raw = _read_yaml(spec) if spec is not None else {}
    raw = apply_overrides(raw, overrides or [])
    cfg = _build(TrainConfig, raw, "")
    validate(cfg)
    return cfg


# ---------------------------------------------------------------- validation


def looks_like_path(spec: str) -> bool:
    return spec.startswith(("/", "./", "../", "~")) or spec.endswith((".parquet", ".json", ".jsonl"))


def validate(cfg: TrainConfig) -> None:
    """Cheap semantic checks that must fail before any model loads (TRL's own checks of the `grpo` section run
    when trainer.run.grpo_args builds its GRPOConfig, also before the model loads)."""
    g = cfg.grpo
    _check_choice(g.loss_type, LOSS_TYPES, "grpo.loss_type")
    _check_choice(str(g.scale_rewards).lower(), SCALE_REWARDS, "grpo.scale_rewards")
    for name in ("per_device_train_batch_size", "num_generations", "max_completion_length", "logging_steps", "save_steps"):
        if getattr(g, name) is None or getattr(g, name) < 1:
            raise UserError(f"grpo.{name}: must be >= 1, got {getattr(g, name)}")
    if g.num_generations < 2:
        raise UserError("grpo.num_generations: GRPO needs at least 2 completions per prompt")
    if (g.per_device_train_batch_size * g.gradient_accumulation_steps) % g.num_generations:
        raise UserError(
            f"grpo.per_device_train_batch_size x gradient_accumulation_steps ({g.per_device_train_batch_size}x{g.gradient_accumulation_steps}) "
            f"must be divisible by grpo.num_generations ({g.num_generations})"
        )
    if g.max_steps < -1:  # TRL reads any negative value as "train by epochs"; only -1 says so on purpose
        raise UserError(f"grpo.max_steps: a positive number of steps, or -1 to train for num_train_epochs; "
                        f"got {g.max_steps}")
    if g.max_steps == 0 or (g.max_steps < 0 and g.num_train_epochs <= 0):
        raise UserError("grpo.max_steps: set max_steps > 0 or num_train_epochs > 0")
    if g.learning_rate <= 0:
        raise UserError(f"grpo.learning_rate: must be > 0, got {g.learning_rate}")
    _check_choice(g.vllm_mode, ("colocate", "server"), "grpo.vllm_mode")
    if cfg.wandb.mode is not None:
        _check_choice(cfg.wandb.mode, ("online", "offline", "disabled"), "wandb.mode")
    if g.steps_per_generation is not None:
        if g.steps_per_generation < 1:
            raise UserError(f"grpo.steps_per_generation: must be >= 1, got {g.steps_per_generation}")
        if (g.save_steps * g.gradient_accumulation_steps) % g.steps_per_generation:
            raise UserError(
                f"grpo.save_steps ({g.save_steps}) x gradient_accumulation_steps ({g.gradient_accumulation_steps}) must be a "
                f"multiple of grpo.steps_per_generation ({g.steps_per_generation}), so checkpoints fall between rollouts "
                "and a resumed run continues exactly")
    _check_choice(cfg.eval.mode, EVAL_MODES, "eval.mode")
    _check_choice(cfg.eval.format or "auto", EVAL_FORMATS, "eval.format")
    if cfg.reward:
        _build(RewardConfig, cfg.reward, "reward")
    check_data(cfg.data, allow_auto=True)
    for where, spec in (("model", cfg.model), ("tokenizer", cfg.tokenizer)):
        if spec and spec != "embedded" and looks_like_path(spec) and not Path(spec).expanduser().exists():
            raise UserError(f"{where}: {spec!r} does not exist")


def check_data(data: Any, allow_auto: bool = False) -> None:
    """The `data` section of an RL or SFT config: files exist, held-out specs are well formed (one rule for both).
    `allow_auto` (RL): `data.train: auto` is checked as the spec it will resolve to."""
    from trainer.data import check_holdout_spec, default_rl_train_spec, resolve_data_spec  # light: no torch

    if allow_auto and data.train == AUTO_TRAIN:
        resolve_data_spec(default_rl_train_spec()[0], where="data.train (auto)")
    else:
        resolve_data_spec(data.train, where="data.train")
    if data.eval:
        resolve_data_spec(data.eval, where="data.eval")
    for i, spec in enumerate(data.holdout):
        check_holdout_spec(spec, where=f"data.holdout[{i}]")


def config_yaml(cfg: RunConfig) -> str:
    """The resolved config as YAML (`--dry-run`, OUTPUT_DIR/config.yaml); a TRL section lists the fields the
    config or our defaults set, and the header names the TRL version whose defaults fill the others."""
    head = (f"# grpo/sft: fields not listed take the defaults of {trl_label('GRPOConfig')} / SFTConfig "
            "(trainer/trl_section.py)\n")
    return head + yaml.safe_dump(_plain(cfg.to_dict()), sort_keys=False)


def dump_config(cfg: RunConfig, path: str | Path) -> None:
    """Write the resolved config so a run can be reproduced with `rest train --config DIR/config.yaml`."""
    Path(path).write_text(config_yaml(cfg))


def _plain(x: Any) -> Any:
    if isinstance(x, TrlSection):
        return _plain(x.to_dict())
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if hasattr(x, "value") and not isinstance(x, (int, float, str, bool)):
        return x.value  # Enums
    return x
