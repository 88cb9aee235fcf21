"""Step time of ResT (`rest` preset, entropy mode) vs plain TRL GRPO on the same model and batch.

Both arms start from the same weights and seed, use the same ToolRL prompts, and
generate exactly `--completion` tokens (min_new_tokens), so the only difference
is our subclass: region labelling, weight building, entropy bookkeeping and the
weighted loss. Arms alternate (grpo, rest, grpo, rest, ...) so drift in machine
load hits both. The first step of every run is dropped (warm-up).

    .venv/bin/python bench/trainer_overhead.py                 # tiny 2-layer model, SmolLM2 vocab
    .venv/bin/python bench/trainer_overhead.py --model embedded --steps 3 --rounds 1
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def tiny_model(tok):
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=4096, bos_token_id=tok.bos_token_id,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, tie_word_embeddings=True)
    return AutoModelForCausalLM.from_config(cfg)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny", help="tiny (random 2-layer, SmolLM2 vocab) or embedded (SmolLM2-135M)")
    ap.add_argument("--steps", type=int, default=4, help="optimizer steps per run (the first is dropped)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating grpo/rest runs per arm")
    ap.add_argument("--batch", type=int, default=8, help="completions per step")
    ap.add_argument("--generations", type=int, default=4)
    ap.add_argument("--completion", type=int, default=32, help="generated tokens per completion (forced)")
    ap.add_argument("--max-prompt-length", type=int, default=600)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    from transformers import TrainerCallback
    from trl import GRPOTrainer

    from trainer.config import load_config
    from trainer.data import load_dataset
    from trainer.models import load_model, load_tokenizer
    from trainer.run import build_trainer

    tok = load_tokenizer("embedded")
    base_model = load_model("embedded") if args.model == "embedded" else tiny_model(tok)
    data = load_dataset("toolrl:sft", tok, args.max_prompt_length, limit=args.steps * args.batch // args.generations)

    class StepTimes(TrainerCallback):
        def __init__(self):
            self.times, self.overhead = [], []

        def on_log(self, a, state, control, logs=None, **kw):
            if logs and "step_time" in logs:
                self.times.append(logs["step_time"])
                if "rest/overhead_s" in logs:
                    self.overhead.append(logs["rest/overhead_s"] + logs.get("rest/loss_overhead_s", 0.0))

    results: dict[str, list[float]] = {"grpo": [], "rest": []}
    overhead: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(args.rounds):
            for arm in ("grpo", "rest"):
                cfg = load_config(arm, [
                    f"output_dir={tmp}/{arm}{rnd}", f"grpo.max_steps={args.steps}", "grpo.use_cpu=true", "grpo.bf16=false",
                    f"grpo.per_device_train_batch_size={args.batch}", f"grpo.num_generations={args.generations}",
                    f"grpo.max_completion_length={args.completion}", "grpo.save_steps=100000", "grpo.learning_rate=1e-6",
                    f"grpo.extra={{generation_kwargs: {{min_new_tokens: {args.completion}}}, save_strategy: 'no'}}",
                ])
                cb = StepTimes()
                trainer = build_trainer(cfg, model=copy.deepcopy(base_model), tokenizer=tok, train_dataset=data,
                                        callbacks=[cb], trainer_cls=GRPOTrainer if arm == "grpo" else None)
                t0 = time.perf_counter()
                trainer.train()
                print(f"round {rnd} {arm}: {time.perf_counter() - t0:.1f}s, step times {[round(t, 3) for t in cb.times]}", flush=True)
                results[arm].extend(cb.times[1:])
                overhead.extend(cb.overhead[1:])
    g, r = statistics.median(results["grpo"]), statistics.median(results["rest"])
    print(f"model={args.model} batch={args.batch} completion={args.completion} steps/run={args.steps} rounds={args.rounds}")
    print(f"median step time: grpo {g:.3f}s  rest {r:.3f}s  ratio rest/grpo = {r / g:.3f}x (target <= 1.05x)")
    if overhead:
        oh = statistics.median(overhead)
        print(f"ResT in-process overhead (labelling, weights, entropy bookkeeping, metrics; timed inside the trainer): "
              f"median {oh * 1000:.1f} ms/step = {oh / r:.2%} of a rest step -> {1 + oh / (r - oh):.4f}x")
    spread = (max(results["grpo"]) - min(results["grpo"])) / g
    print(f"grpo step-time spread (max-min)/median = {spread:.0%}: the end-to-end ratio is only meaningful when this is small")
    return 0


if __name__ == "__main__":
    sys.exit(main())
