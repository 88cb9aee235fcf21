"""Supervised baselines on TRL's SFTTrainer: SFT, TSFT (tool-token weighted), RSFT (reasoning-token weighted).

Rows are ToolRL prompts (system + user messages) with the ground truth as the
assistant turn; TRL's prompt-completion path puts labels only on the completion
(the assistant text and its end-of-turn marker), so prompt tokens carry no loss.

TSFT/RSFT weight each completion token by its region. The regions come from
`trainer.regions.RegionLabeller` over the completion's token ids, the weights
from `trainer.weights` (`region_weights` then `token_weights`: clamp and mean 1
per sequence), the same code the ResT trainer uses. The loss is
Σ w·ℓ / N with N the completion-token count TRL already uses (global over
gradient accumulation): since the weights average 1 per sequence over the
weighted tokens, N is also Σ w whenever every region weighs > 0, so this is the
weighted token mean, and TRL's normalisation across accumulation steps and
ranks is kept. With every weight 1 the loss is TRL's, bit for bit.

LoRA (peft): the adapter is saved in OUTPUT_DIR/adapter; with `lora.merge`
(default) the merged full model goes to OUTPUT_DIR, so any RL config can start
from `model: OUTPUT_DIR` unchanged. `load_warm_start` loads either kind.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from trl import SFTTrainer

from harness.types import UserError
from trainer.regions import Region, RegionLabeller
from trainer.weights import WeightConfig, region_weights, token_weights

REGION_NAMES = {int(r): r.name.lower() for r in Region}


class WeightedSFTTrainer(SFTTrainer):
    """SFTTrainer whose per-token loss is multiplied by region weights when `weight_config` is given."""

    def __init__(self, *args: Any, weight_config: WeightConfig | None = None,
                 region_labeller: RegionLabeller | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.weight_config = weight_config
        self.labeller = None
        if weight_config is not None:
            self.labeller = region_labeller or RegionLabeller(self.processing_class)

    def _progress(self) -> tuple[float, int]:
        max_steps = max(1, int(self.state.max_steps or 0))
        step = int(self.state.global_step)
        return min(1.0, step / max_steps), step

    def token_weight_matrix(self, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(weights, regions), both shaped like `labels`; 0 / OTHER wherever the label is -100."""
        progress, step = self._progress()
        region_w = region_weights(self.weight_config, progress, step)
        weights = torch.zeros(labels.shape, dtype=torch.float32)
        regions = torch.zeros(labels.shape, dtype=torch.long)
        for i, row in enumerate(labels.tolist()):
            pos = [t for t, v in enumerate(row) if v != -100]
            if not pos:
                continue
            reg = self.labeller.label([row[t] for t in pos])
            w = token_weights(reg, region_w, self.weight_config)
            idx = torch.tensor(pos)
            weights[i, idx] = torch.tensor(w, dtype=torch.float32)
            regions[i, idx] = torch.tensor(reg, dtype=torch.long)
        self._last_region_w = region_w
        return weights.to(labels.device), regions.to(labels.device)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.weight_config is None or return_outputs:
            return super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)
        mode = "train" if self.model.training else "eval"
        weights, regions = self.token_weight_matrix(inputs["labels"])
        outputs = model(**{**inputs, "use_cache": False}, fused_lm_head=True)
        per_token_loss = -outputs.log_probs * weights[:, 1:].to(outputs.log_probs.dtype)  # log_probs predict labels[:, 1:]
        num_tokens = outputs.label_mask.sum() if num_items_in_batch is None else num_items_in_batch
        loss = per_token_loss.sum() / torch.as_tensor(num_tokens).clamp(min=1)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * (self.accelerator.num_processes // self.get_tp_size())
        self._log_weighted_metrics(mode, outputs, inputs, regions[:, 1:], outputs.label_mask)
        return loss

    def _log_weighted_metrics(self, mode: str, outputs: Any, inputs: dict, regions: torch.Tensor, mask: torch.Tensor) -> None:
        """TRL's own SFT metrics (entropy, token accuracy, token count) plus region shares and weights."""
        m = self._metrics[mode]
        gather = self.accelerator.gather_for_metrics
        num_valid = gather(mask.sum()).sum()
        if num_valid > 0:
            m["entropy"].append((gather(outputs.entropy.detach().sum()).sum() / num_valid).item())
            m["mean_token_accuracy"].append((gather(outputs.is_top1.sum()).sum() / num_valid).item())
        if mode == "train" and "attention_mask" in inputs:
            self._total_train_tokens += gather(inputs["attention_mask"].sum()).sum().item()
        m["num_tokens"] = [self._total_train_tokens]
        counts = torch.bincount(regions[mask.bool()].flatten().cpu(), minlength=len(REGION_NAMES)).double()
        total = float(counts.sum())
        for r, name in REGION_NAMES.items():
            m[f"sft/share/{name}"].append(float(counts[r]) / total if total else 0.0)
            m[f"sft/weight/{name}"].append(float(self._last_region_w.get(r, 0.0)))


# ---------------------------------------------------------------- data


def rows_with_ids(spec: str) -> list[dict[str, Any]]:
    """rlla rows with ids of a file, alias or hub dataset (trainer.data reads, harness.toolrl_data converts)."""
    from harness.toolrl_data import to_row
    from trainer.data import read_records, resolve_data_spec

    _, loc = resolve_data_spec(spec)
    stem = Path(loc).stem if "/" in loc and Path(loc).exists() else loc
    return [to_row(r, i, stem) for i, r in enumerate(read_records(spec))]


def prepare_rows(cfg: Any, tokenizer: Any, log: Any = print) -> list[dict[str, Any]]:
    """Load, contamination-check against `data.holdout`, length-filter, shuffle and cut the training rows."""
    from trainer.data_prep import check_contamination, filter_by_length, prompt_text, shuffle

    d = cfg.data
    rows, report = filter_by_length(rows_with_ids(d.train), tokenizer, d.max_tokens, d.length_mode)
    log(report.line(d.train))
    if not rows:
        raise UserError(f"data: no row of {d.train} fits in data.max_tokens={d.max_tokens} tokens")
    for spec in d.holdout:  # checked on the rows that will really be trained on
        held = rows_with_ids(spec)
        if d.exclude_holdout:
            hit = {prompt_text(r) for r in held} | {"id:" + str(r["id"]) for r in held}
            before = len(rows)
            rows = [r for r in rows if prompt_text(r) not in hit and "id:" + str(r["id"]) not in hit]
            log(f"data: dropped {before - len(rows)} training rows that are items of {spec} (data.exclude_holdout)")
        try:
            check_contamination(rows, held, train_name=d.train, eval_name=spec)
        except UserError as exc:
            raise UserError(f"{exc} (or set data.exclude_holdout=true)") from None
    if d.shuffle_seed is not None:
        rows = shuffle(rows, d.shuffle_seed)
    return rows[: d.limit] if d.limit else rows


def to_sft_dataset(rows: list[dict[str, Any]]):
    """Conversational prompt-completion rows, the shape TRL trains on the completion only."""
    from datasets import Dataset

    return Dataset.from_list([
        {"prompt": r["prompt"], "completion": [{"role": "assistant", "content": r["ground_truth"]}]} for r in rows
    ])


# ---------------------------------------------------------------- assembly


def sft_args(cfg: Any, output_dir: str | None = None):
    from trl import SFTConfig

    from trainer.metrics import wandb_report_to

    s = cfg.sft
    out = output_dir or cfg.output_dir
    kwargs = dict(
        output_dir=out,
        learning_rate=s.learning_rate,
        per_device_train_batch_size=s.per_device_train_batch_size,
        gradient_accumulation_steps=s.gradient_accumulation_steps,
        num_train_epochs=s.num_train_epochs,
        max_steps=s.max_steps,
        max_length=s.max_length,
        warmup_steps=s.warmup_steps,
        lr_scheduler_type=s.lr_scheduler_type,
        weight_decay=s.weight_decay,
        max_grad_norm=s.max_grad_norm,
        logging_steps=s.logging_steps,
        save_strategy="steps" if s.save_steps else "no",
        save_steps=s.save_steps or 500,
        save_total_limit=s.save_total_limit,
        save_only_model=True,
        seed=s.seed,
        bf16=s.bf16,
        fp16=False,
        use_cpu=s.use_cpu,
        gradient_checkpointing=s.gradient_checkpointing,
        completion_only_loss=True,
        packing=False,
        report_to=wandb_report_to(cfg.wandb, out),
        run_name=cfg.wandb.run_name,
        dataloader_num_workers=0,
    )
    kwargs.update(s.extra or {})
    return SFTConfig(**kwargs)


def peft_config_of(cfg: Any):
    if not cfg.lora.enabled:
        return None
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                      target_modules=cfg.lora.target_modules, task_type="CAUSAL_LM")


def build_sft_trainer(cfg: Any, model: Any = None, tokenizer: Any = None, train_dataset: Any = None,
                      callbacks: list | None = None) -> WeightedSFTTrainer:
    """Everything `rest train --config sft.yaml` wires together; tests inject a tiny model, tokenizer or data."""
    from trainer.metrics import JsonlMetricsCallback
    from trainer.rest_trainer import load_model, load_tokenizer

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if tokenizer is None:
        tokenizer = load_tokenizer(cfg.tokenizer or cfg.model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if train_dataset is None:
        train_dataset = to_sft_dataset(prepare_rows(cfg, tokenizer))
    eval_dataset = None
    if cfg.data.eval:
        eval_dataset = to_sft_dataset(rows_with_ids(cfg.data.eval))
    if model is None:
        model = load_model(cfg.model, bf16=cfg.sft.bf16)
    weighted = cfg.method != "sft"
    return WeightedSFTTrainer(
        model=model,
        args=sft_args(cfg),
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


def train_sft(cfg: Any, **overrides: Any) -> WeightedSFTTrainer:
    """Write config.yaml, train, save; print wall time and peak memory (they go to OUTPUT_DIR/train_stats.json too)."""
    import json
    import resource

    import yaml

    from trainer.config import _plain

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(_plain(cfg.to_dict()), sort_keys=False))
    t0 = time.perf_counter()
    trainer = build_sft_trainer(cfg, **overrides)
    n_rows = len(trainer.train_dataset)
    result = trainer.train()
    final = save_final(trainer, cfg)
    stats = {
        "method": cfg.method,
        "rows": n_rows,
        "steps": trainer.state.global_step,
        "train_loss": getattr(result, "training_loss", None),
        "wall_s": round(time.perf_counter() - t0, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "final_model": str(final),
    }
    (out / "train_stats.json").write_text(json.dumps(stats, indent=2))
    print(f"{cfg.method}: {n_rows} rows, {stats['steps']} steps, {stats['wall_s']} s, peak RSS {stats['peak_rss_mib']} MiB")
    return trainer


# ---------------------------------------------------------------- warm start


def is_adapter_dir(path: str | Path) -> bool:
    return (Path(path) / "adapter_config.json").is_file()


def load_warm_start(path: str | Path, merge: bool = True, dtype: torch.dtype = torch.float32):
    """An SFT checkpoint for RL: a full model dir as is; a LoRA adapter dir = base + adapter, merged
    (`merge=True`: a plain model, RL may add its own fresh LoRA) or kept as a trainable PeftModel."""
    from transformers import AutoModelForCausalLM

    path = Path(path)
    if not is_adapter_dir(path):
        return AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype)
    import json

    from peft import PeftModel

    base_path = json.loads((path / "adapter_config.json").read_text()).get("base_model_name_or_path")
    if not base_path:
        raise UserError(f"{path}: adapter_config.json names no base_model_name_or_path")
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=dtype)
    model = PeftModel.from_pretrained(base, str(path), is_trainable=not merge)
    return model.merge_and_unload() if merge else model
