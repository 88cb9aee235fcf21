"""Training configuration: dataclasses, YAML presets, `--set` overrides, validation.

Everything here runs before any model or heavy library loads, so a typo in a
config costs the user one line and a second, not a minute of model loading.
Errors are `UserError`s with one clear line (unknown key with a close-match
suggestion, wrong type, missing data file).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.rewards import RewardConfig
from harness.types import UserError
from trainer.data import DEFAULT_HOLDOUT
from trainer.weights import WeightConfig

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
PRESETS = ("grpo", "rest-code", "rest", "grpo-paper", "rest-paper", "dr-grpo", "cpu-smoke")  # RL presets
SFT_PRESETS = ("sft", "tsft", "rsft", "sft-smollm2")
LOSS_TYPES = ("grpo", "bnpo", "dr_grpo", "dapo", "cispo", "sapo", "luspo")  # vespo: not linear in A, refused
SCALE_REWARDS = ("group", "batch", "none")
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
class GrpoConfig:
    """The GRPOConfig fields we expose; `extra` passes any other GRPOConfig field through."""

    learning_rate: float = 1e-6
    per_device_train_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    num_generations: int = 4
    max_prompt_length: int | None = 2048  # TRL 1.16 has no such field: we drop longer prompts (verl's filter)
    max_completion_length: int = 1024
    temperature: float = 1.0
    top_p: float = 1.0
    max_steps: int = -1
    num_train_epochs: float = 1.0
    loss_type: str = "dapo"
    beta: float = 0.0
    epsilon: float = 0.2
    epsilon_high: float | None = None
    scale_rewards: str = "group"
    mask_truncated_completions: bool = False
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    warmup_steps: float = 0.0  # int: steps; a float in [0, 1): ratio of total steps
    lr_scheduler_type: str = "constant"  # verl's actor default (ResT's lr 1e-6 is constant, no warmup)
    steps_per_generation: int | None = None  # micro-batches per rollout (updates per rollout x grad accum); None: = grad accum
    save_steps: int = 15
    save_total_limit: int | None = None
    save_only_model: bool = False  # false: checkpoints hold optimizer, scheduler and RNG, so `--resume` works
    logging_steps: int = 1
    seed: int = 42
    bf16: bool | str = False  # true/auto: fp32 master weights + bf16 autocast where the device has bf16
    pure_bf16: bool = False  # bf16 weights and optimizer (opt-in: small updates round away at lr 1e-6)
    use_cpu: bool = False
    gradient_checkpointing: bool = False
    use_vllm: bool | str = False  # true, false, or "auto": colocated vLLM when it is installed and a GPU is present
    vllm_mode: str = "colocate"
    vllm_gpu_memory_utilization: float = 0.3
    log_completions: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


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
    mode: str = "inprocess"  # inprocess | subprocess (a fresh `rest eval` process per checkpoint)
    format: str | None = None  # prompt format of the eval (e.g. toolrl: the paper scores BFCL in ToolRL's format)


@dataclass
class TrainConfig:
    """One training run, fully resolved; written to OUTPUT_DIR/config.yaml."""

    model: str = "embedded"
    tokenizer: str | None = None
    data: DataConfig = field(default_factory=DataConfig)
    reward: dict[str, Any] = field(default_factory=dict)  # kwargs of harness.rewards.RewardConfig
    weights: WeightConfig = field(default_factory=WeightConfig)
    grpo: GrpoConfig = field(default_factory=GrpoConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    wandb: WandbConfig = field(default_factory=WandbConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    output_dir: str = "runs/train"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


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
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
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


# ---------------------------------------------------------------- typed construction


_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check `value` against a type hint, converting the harmless cases (int->float, "1e-5"->float)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        opts = typing.get_args(tp)
        if value is None and type(None) in opts:
            return None
        errors = []
        for opt in opts:
            if opt is type(None):
                continue
            try:
                return _coerce(value, opt, where)
            except UserError as exc:
                errors.append(exc)
        want = " or ".join(_type_name(o) for o in opts)
        raise UserError(f"{where}: expected {want}, got {value!r}")
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise UserError(f"{where}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise UserError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and _FLOAT_RE.match(value.strip()):
            return float(value)
        raise UserError(f"{where}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise UserError(f"{where}: expected a string, got {value!r}")
    if origin is list:
        (item_tp,) = typing.get_args(tp) or (Any,)
        if isinstance(value, str):  # `--set eval.tasks=a,b`
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise UserError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, item_tp, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected a mapping of {', '.join(f.name for f in dataclasses.fields(tp))}, got {value!r}")
        return _build(tp, value, where)
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    return value  # unknown annotation (e.g. an Enum in WeightConfig): its own __post_init__ validates


def _build(cls: type, raw: dict[str, Any], prefix: str) -> Any:
    """Instantiate dataclass `cls` from `raw`, rejecting unknown keys with a suggestion."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
            hint = f"; did you mean {(prefix + '.' if prefix else '') + close[0]!r}?" if close else f"; known keys: {', '.join(names)}"
            raise UserError(f"unknown config key {where!r}{hint}")
        kwargs[key] = _coerce(value, hints.get(key, Any), where)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{prefix or 'config'}: {str(exc).splitlines()[0]}") from None


# ---------------------------------------------------------------- validation


def _check_choice(value: Any, choices: tuple[str, ...], where: str) -> None:
    if value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UserError(f"{where}: {value!r} is not one of {', '.join(choices)}{hint}")


def looks_like_path(spec: str) -> bool:
    return spec.startswith(("/", "./", "../", "~")) or spec.endswith((".parquet", ".json", ".jsonl"))


def validate(cfg: TrainConfig) -> None:
    """Cheap semantic checks that must fail before any model loads."""
    g = cfg.grpo
    _check_choice(g.loss_type, LOSS_TYPES, "grpo.loss_type")
    _check_choice(str(g.scale_rewards).lower(), SCALE_REWARDS, "grpo.scale_rewards")
    for name in ("per_device_train_batch_size", "num_generations", "max_completion_length", "logging_steps", "save_steps"):
        if getattr(g, name) < 1:
            raise UserError(f"grpo.{name}: must be >= 1, got {getattr(g, name)}")
    if g.num_generations < 2:
        raise UserError("grpo.num_generations: GRPO needs at least 2 completions per prompt")
    if (g.per_device_train_batch_size * g.gradient_accumulation_steps) % g.num_generations:
        raise UserError(
            f"grpo.per_device_train_batch_size x gradient_accumulation_steps ({g.per_device_train_batch_size}x{g.gradient_accumulation_steps}) "
            f"must be divisible by grpo.num_generations ({g.num_generations})"
        )
    if g.max_steps == 0 or (g.max_steps < 0 and g.num_train_epochs <= 0):
        raise UserError("grpo.max_steps: set max_steps > 0 or num_train_epochs > 0")
    if g.learning_rate <= 0:
        raise UserError(f"grpo.learning_rate: must be > 0, got {g.learning_rate}")
    if isinstance(g.use_vllm, str) and g.use_vllm != "auto":
        raise UserError(f"grpo.use_vllm: expected true, false or auto, got {g.use_vllm!r}")
    _check_choice(g.vllm_mode, ("colocate", "server"), "grpo.vllm_mode")
    if g.extra:
        _check_grpo_extra(g.extra)
    if cfg.wandb.mode is not None:
        _check_choice(cfg.wandb.mode, ("online", "offline", "disabled"), "wandb.mode")
    if isinstance(g.bf16, str) and g.bf16 != "auto":
        raise UserError(f"grpo.bf16: expected true, false or auto, got {g.bf16!r}")
    if g.steps_per_generation is not None:
        if g.steps_per_generation < 1:
            raise UserError(f"grpo.steps_per_generation: must be >= 1, got {g.steps_per_generation}")
        if (g.save_steps * g.gradient_accumulation_steps) % g.steps_per_generation:
            raise UserError(
                f"grpo.save_steps ({g.save_steps}) x gradient_accumulation_steps ({g.gradient_accumulation_steps}) must be a "
                f"multiple of grpo.steps_per_generation ({g.steps_per_generation}), so checkpoints fall between rollouts "
                "and a resumed run continues exactly")
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


def _check_grpo_extra(extra: dict[str, Any]) -> None:
    from trl import GRPOConfig  # only imported when `extra` is used

    names = {f.name for f in dataclasses.fields(GRPOConfig)}
    for key in extra:
        if key not in names:
            close = difflib.get_close_matches(key, sorted(names), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UserError(f"unknown config key 'grpo.extra.{key}' (not a TRL GRPOConfig field){hint}")
    if extra.get("loss_type") == "vespo":
        raise UserError("grpo.extra.loss_type: vespo is not supported (its gamma weights are not linear in the advantage)")


def dump_config(cfg: TrainConfig, path: str | Path) -> None:
    """Write the resolved config so a run can be reproduced with `rest train --config DIR/config.yaml`."""
    data = _plain(cfg.to_dict())
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False))


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if hasattr(x, "value") and not isinstance(x, (int, float, str, bool)):
        return x.value  # Enums
    return x
