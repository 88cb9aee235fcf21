"""Build and run a training from a resolved config: GRPO/ResT (`TrainConfig`) or SFT/TSFT/RSFT (`SftConfig`).

The thin shell around the trainers: choose the precision the device supports,
load model, tokenizer and data, wire the rollout clock into both the trainer
and the reward functions, add the metrics and checkpoint-eval callbacks, and
train, fresh or resumed from the last checkpoint of the run directory.
"""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path
from typing import Any

from harness.types import UserError
from trainer.models import Precision, device_precision, load_model, load_tokenizer

RESUME_FILES = ("optimizer.pt", "scheduler.pt", "trainer_state.json")


# ---------------------------------------------------------------- resume


def last_checkpoint(output_dir: str | Path) -> Path | None:
    """The highest-numbered `checkpoint-N` folder of a run directory, or None."""
    out = Path(output_dir)
    ckpts = [p for p in out.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return max(ckpts, key=lambda p: int(p.name.split("-")[-1])) if ckpts else None


def resume_checkpoint(output_dir: str | Path) -> Path:
    """The checkpoint `--resume` continues from; one-line errors when there is none or it holds only weights."""
    ckpt = last_checkpoint(output_dir)
    if ckpt is None:
        raise UserError(f"--resume: no checkpoint-N folder in {output_dir} (nothing to resume; drop --resume to start)")
    missing = [f for f in RESUME_FILES if not (ckpt / f).is_file()]
    if missing:
        raise UserError(f"--resume: {ckpt} holds no {', '.join(missing)} (saved with save_only_model=true); "
                        "it can seed a new run with --set model=" + str(ckpt))
    return ckpt


def truncate_metrics(path: str | Path, step: int) -> int:
    """Drop metrics.jsonl records logged after `step` (a resumed run logs them again); returns how many."""
    p = Path(path)
    if not p.is_file():
        return 0
    lines = [ln for ln in p.read_text().splitlines() if ln.strip()]
    keep = []
    for ln in lines:
        try:
            rec = json.loads(ln)
        except json.JSONDecodeError:  # a torn last line from a killed run
            continue
        if int(rec.get("step", 0) or 0) <= step:
            keep.append(ln)
    p.write_text("".join(ln + "\n" for ln in keep))
    return len(lines) - len(keep)


def _prepare_resume(output_dir: Path, resume: bool, log: Any) -> str | None:
    if not resume:
        return None
    ckpt = resume_checkpoint(output_dir)
    step = int(ckpt.name.split("-")[-1])
    dropped = truncate_metrics(output_dir / "metrics.jsonl", step)
    log(f"resume: continuing from {ckpt} (step {step}; {dropped} later metrics lines dropped)")
    return str(ckpt)


def _precision(section: Any, log: Any) -> Precision:
    prec = device_precision(section.bf16, getattr(section, "pure_bf16", False), section.use_cpu)
    log(prec.note)
    return prec


def _tokenizer(cfg: Any, tokenizer: Any = None):
    """The injected tokenizer or the model's, with a pad token (TRL pads batches)."""
    tokenizer = tokenizer if tokenizer is not None else load_tokenizer(cfg.tokenizer or cfg.model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _write_stats(out: Path, stats: dict[str, Any]) -> None:
    (out / "train_stats.json").write_text(json.dumps(stats, indent=2))


def _peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# ---------------------------------------------------------------- GRPO / ResT


def trl_args(cls: Any, section: Any, cfg: Any, prec: Precision, **resolved: Any):
    """Build TRL's config dataclass from a `grpo:`/`sft:` section: its fields as given, our additions resolved.
    TRL's own checks become one-line UserErrors (this runs before the model loads)."""
    from trainer.metrics import wandb_report_to

    out = resolved.pop("output_dir", None) or cfg.output_dir
    kwargs = {**section.trl_kwargs(), "output_dir": out, "bf16": prec.bf16, "use_cpu": prec.use_cpu,
              "report_to": wandb_report_to(cfg.wandb, out), "run_name": cfg.wandb.run_name, **resolved}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(f"{section.SECTION}: {first} (TRL's {cls.__name__} refused the section)") from None


def grpo_args(cfg: Any, output_dir: str | None = None, precision: Precision | None = None):
    """TrainConfig -> trl.GRPOConfig: the `grpo` section passed through (trainer/trl_section.py)."""
    from trl import GRPOConfig

    g = cfg.grpo
    prec = precision or device_precision(g.bf16, g.pure_bf16, g.use_cpu)
    return trl_args(GRPOConfig, g, cfg, prec, output_dir=output_dir, use_vllm=resolve_use_vllm(g.use_vllm))


def resolve_use_vllm(value: bool | str) -> bool:
    """`auto`: vLLM generation when vllm is importable and CUDA is available (never on CPU)."""
    if value != "auto":
        return bool(value)
    import importlib.util

    import torch

    return importlib.util.find_spec("vllm") is not None and torch.cuda.is_available()


def default_reward_funcs(cfg: Any, tokenizer: Any = None, clock: Any = None) -> list:
    """The harness checkers as TRL reward callables (harness/toolrl/reward.py via trainer/reward_funcs.py), scheduled on the rollout clock."""
    from harness.toolrl.schedule import RewardConfig
    from trainer.reward_funcs import make_trl_reward_funcs

    clock_fn = (lambda: (clock.step, clock.progress)) if clock is not None else None
    return list(make_trl_reward_funcs(RewardConfig(**(cfg.reward or {})), tokenizer=tokenizer, clock=clock_fn))


def resolve_train_data(cfg: Any, log: Any = print) -> Any:
    """`cfg` with `data.train: auto` replaced by `default_rl_train_spec()` (one line says which), else `cfg`."""
    import dataclasses

    from harness.toolrl.data import RL_ALIAS
    from trainer.config import AUTO_TRAIN
    from trainer.data import default_rl_train_spec

    if cfg.data.train != AUTO_TRAIN:
        return cfg
    spec, note = default_rl_train_spec()
    log(note or f"data: data.train auto -> {RL_ALIAS} (ToolRL's 3,920 RL rows, the paper's RL data)")
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, train=spec))


def load_eval_dataset(cfg: Any, tokenizer: Any = None, log: Any = print):
    """`data.eval` as GRPO rows, or None. Not checked against the held-out sets: an evaluation set is
    usually one of them, and evaluating on it is the point (only training rows are held-out checked)."""
    if not cfg.data.eval:
        return None
    from trainer.data import load_dataset

    return load_dataset(cfg.data.eval, tokenizer, cfg.grpo.max_prompt_length, holdout=(), log=log)


def build_trainer(cfg: Any, model: Any = None, tokenizer: Any = None, reward_funcs: list | None = None,
                  train_dataset: Any = None, callbacks: list | None = None, trainer_cls: type | None = None,
                  log: Any = print):
    """Everything `rest train` wires together for GRPO/ResT; tests inject a tiny model, tokenizer, rewards or data."""
    from harness.toolrl.schedule import RewardConfig
    from trainer.clock import RolloutClock
    from trainer.data import load_dataset
    from trainer.grpo_trainer import RestGRPOTrainer
    from trainer.metrics import JsonlMetricsCallback

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = resolve_train_data(cfg, log)
    prec = _precision(cfg.grpo, log)
    args = grpo_args(cfg, precision=prec)  # TRL's checks of the section, before anything loads
    tokenizer = _tokenizer(cfg, tokenizer)
    if train_dataset is None:
        train_dataset = load_dataset(cfg.data.train, tokenizer, cfg.grpo.max_prompt_length, cfg.data.limit,
                                     holdout=cfg.data.holdout, exclude_holdout=cfg.data.exclude_holdout, log=log)
    eval_dataset = load_eval_dataset(cfg, tokenizer, log)
    clock = RolloutClock()
    if reward_funcs is None:
        reward_funcs = default_reward_funcs(cfg, tokenizer, clock)
    peft_config = None
    if cfg.lora.enabled:
        from peft import LoraConfig

        peft_config = LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                                 target_modules=cfg.lora.target_modules, task_type="CAUSAL_LM")
    if model is None:
        model = load_model(cfg.model, prec.weights_dtype)
    cbs = [JsonlMetricsCallback(out / "metrics.jsonl"), *(callbacks or [])]
    if cfg.eval.on_save and cfg.eval.tasks:  # every saved checkpoint scored by the harness
        from trainer.eval_callback import CheckpointEvalCallback

        device = "cpu" if prec.use_cpu else "auto"
        cbs.append(CheckpointEvalCallback(cfg.eval.tasks, limit=cfg.eval.limit, max_new_tokens=cfg.eval.max_new_tokens,
                                          mode=cfg.eval.mode, fmt=cfg.eval.format or "auto", device=device))
    cls = trainer_cls or RestGRPOTrainer
    extra = {}
    if issubclass(cls, RestGRPOTrainer):
        extra = {"weight_config": cfg.weights, "clock": clock, "reward_config": RewardConfig(**(cfg.reward or {}))}
    return cls(
        model=model,
        reward_funcs=reward_funcs,
        args=args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        callbacks=cbs,
        peft_config=peft_config,
        **extra,
    )


def finish_evaluations(trainer: Any, out: Path) -> None:
    """Rank 0 waits for background checkpoint evaluations once every collective (the final save) is done."""
    from trainer.eval_callback import CheckpointEvalCallback

    if not trainer.is_world_process_zero():
        return
    for cb in trainer.callback_handler.callbacks:
        if isinstance(cb, CheckpointEvalCallback):
            cb.finish(out)


def train(cfg: Any, resume: bool = False, log: Any = print, **overrides: Any):
    """Run a GRPO/ResT training: write config.yaml, train (or resume), save the final model + tokenizer."""
    from trainer.config import dump_config

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = _prepare_resume(out, resume, log)
    cfg = resolve_train_data(cfg, log)  # config.yaml records the data really trained on
    dump_config(cfg, out / "config.yaml")
    t0 = time.perf_counter()
    trainer = build_trainer(cfg, log=log, **overrides)
    result = trainer.train(resume_from_checkpoint=ckpt)
    trainer.save_model(str(out))
    trainer.processing_class.save_pretrained(str(out))
    finish_evaluations(trainer, out)
    _write_stats(out, {"method": cfg.weights.mode, "steps": trainer.state.global_step,
                       "rollouts": trainer.clock.rollouts, "train_loss": getattr(result, "training_loss", None),
                       "wall_s": round(time.perf_counter() - t0, 1), "peak_rss_mib": _peak_rss_mib(),
                       "resumed_from": ckpt})
    return trainer


# ---------------------------------------------------------------- SFT / TSFT / RSFT


def sft_args(cfg: Any, output_dir: str | None = None, precision: Precision | None = None):
    """SftConfig -> trl.SFTConfig: the `sft` section passed through (trainer/trl_section.py)."""
    from trl import SFTConfig

    s = cfg.sft
    prec = precision or device_precision(s.bf16, s.pure_bf16, s.use_cpu)
    return trl_args(SFTConfig, s, cfg, prec, output_dir=output_dir)


def peft_config_of(cfg: Any):
    if not cfg.lora.enabled:
        return None
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                      target_modules=cfg.lora.target_modules, task_type="CAUSAL_LM")


def build_sft_trainer(cfg: Any, model: Any = None, tokenizer: Any = None, train_dataset: Any = None,
                      callbacks: list | None = None, log: Any = print):
    """Everything `rest train --config sft.yaml` wires together; tests inject a tiny model, tokenizer or data."""
    from trainer.data import rows_with_ids
    from trainer.metrics import JsonlMetricsCallback
    from trainer.sft_data import prepare_rows, to_sft_dataset
    from trainer.sft_trainer import WeightedSFTTrainer

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    prec = _precision(cfg.sft, log)
    args = sft_args(cfg, precision=prec)  # TRL's checks of the section, before anything loads
    tokenizer = _tokenizer(cfg, tokenizer)
    if train_dataset is None:
        train_dataset = to_sft_dataset(prepare_rows(cfg, tokenizer, log=log))
    eval_dataset = None
    if cfg.data.eval:
        eval_dataset = to_sft_dataset(rows_with_ids(cfg.data.eval))
    if model is None:
        model = load_model(cfg.model, prec.weights_dtype)
    weighted = cfg.method != "sft"
    return WeightedSFTTrainer(
        model=model,
        args=args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        callbacks=[JsonlMetricsCallback(out / "metrics.jsonl"), *(callbacks or [])],
        peft_config=peft_config_of(cfg),
        weight_config=cfg.weights if weighted else None,
    )


def save_final(trainer: Any, cfg: Any) -> Path:
    """Full model, or adapter (+ merged model with `lora.merge`), plus tokenizer, in OUTPUT_DIR."""
    out = Path(cfg.output_dir)
    tok = trainer.processing_class
    if not cfg.lora.enabled:
        trainer.save_model(str(out))
        tok.save_pretrained(str(out))
        return out
    adapter_dir = out / "adapter"
    trainer.model.save_pretrained(str(adapter_dir))
    tok.save_pretrained(str(adapter_dir))
    if cfg.lora.merge:
        merged = trainer.model.merge_and_unload()
        merged.save_pretrained(str(out))
        tok.save_pretrained(str(out))
        return out
    return adapter_dir


def train_sft(cfg: Any, resume: bool = False, log: Any = print, **overrides: Any):
    """Write config.yaml, train (or resume), save; print wall time and peak memory (also in train_stats.json)."""
    from trainer.config import dump_config

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = _prepare_resume(out, resume, log)
    dump_config(cfg, out / "config.yaml")
    t0 = time.perf_counter()
    trainer = build_sft_trainer(cfg, log=log, **overrides)
    n_rows = len(trainer.train_dataset)
    result = trainer.train(resume_from_checkpoint=ckpt)
    final = save_final(trainer, cfg)
    stats = {
        "method": cfg.method,
        "rows": n_rows,
        "steps": trainer.state.global_step,
        "train_loss": getattr(result, "training_loss", None),
        "wall_s": round(time.perf_counter() - t0, 1),
        "peak_rss_mib": _peak_rss_mib(),
        "final_model": str(final),
        "resumed_from": ckpt,
    }
    _write_stats(out, stats)
    log(f"{cfg.method}: {n_rows} rows, {stats['steps']} steps, {stats['wall_s']} s, peak RSS {stats['peak_rss_mib']} MiB")
    return trainer
