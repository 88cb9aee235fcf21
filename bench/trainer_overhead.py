"""Step time of ResT (`rest` preset, entropy mode) vs plain TRL GRPO on the same model and batch.

Both arms start from the same weights and seed, use the same ToolRL prompts, and
generate exactly `--completion` tokens (min_new_tokens), so the only difference
is our subclass: region labelling, weight building, entropy bookkeeping and the
weighted loss. A round runs both arms, in alternating order (grpo/rest, then
rest/grpo, ...), so drift in machine load hits both; the first step of every
run is dropped (warm-up). Acceptance (issue 16): the median over >= 5 rounds of
the per-round ratio median(rest step)/median(grpo step) is <= 1.05, with the
spread (min/max ratio) and the load average at start and end stated. A JSON
result goes to bench/results/.

    nice .venv/bin/python bench/trainer_overhead.py --rounds 5          # tiny 2-layer model, SmolLM2 vocab
    .venv/bin/python bench/trainer_overhead.py --model embedded --steps 3 --rounds 5
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET = 1.05


def tiny_model(tok):
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=4096, bos_token_id=tok.bos_token_id,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, tie_word_embeddings=True)
    return AutoModelForCausalLM.from_config(cfg)


def round_order(rnd: int) -> tuple[str, str]:
    """ABBA: even rounds run grpo first, odd rounds rest first."""
    return ("grpo", "rest") if rnd % 2 == 0 else ("rest", "grpo")


def summarize(rounds: list[dict[str, list[float]]], prefix: str = "ratio") -> dict[str, float]:
    """Per-round ratio of median step times -> median, min, max (pure: tests and the JSON use it)."""
    ratios = [statistics.median(r["rest"]) / statistics.median(r["grpo"]) for r in rounds]
    return {f"{prefix}_median": statistics.median(ratios), f"{prefix}_min": min(ratios), f"{prefix}_max": max(ratios),
            f"{prefix}s": ratios}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny", help="tiny (random 2-layer, SmolLM2 vocab) or embedded (SmolLM2-135M)")
    ap.add_argument("--steps", type=int, default=4, help="optimizer steps per run (the first is dropped)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds, each one grpo and one rest run (>= 5 for acceptance)")
    ap.add_argument("--batch", type=int, default=8, help="completions per step")
    ap.add_argument("--generations", type=int, default=4)
    ap.add_argument("--completion", type=int, default=32, help="generated tokens per completion (forced)")
    ap.add_argument("--max-prompt-length", type=int, default=600)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"), help="folder for the JSON result")
    args = ap.parse_args()
    load_start = os.getloadavg()
    t_start = time.time()
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
    data = load_dataset("toolrl:sft", tok, args.max_prompt_length, limit=args.steps * args.batch // args.generations,
                        holdout=(), log=lambda _: None)

    class StepTimes(TrainerCallback):
        """Wall step time (TRL's `step_time`) and this process's CPU time per step (generation included): CPU time
        is far less sensitive to other jobs on the machine than wall time."""

        def __init__(self):
            self.times, self.overhead, self.cpu = [], [], []
            self._cpu0 = 0.0

        def on_step_begin(self, a, state, control, **kw):
            self._cpu0 = time.process_time()

        def on_step_end(self, a, state, control, **kw):
            self.cpu.append(time.process_time() - self._cpu0)

        def on_log(self, a, state, control, logs=None, **kw):
            if logs and "step_time" in logs:
                self.times.append(logs["step_time"])
                if "rest/overhead_s" in logs:
                    self.overhead.append(logs["rest/overhead_s"] + logs.get("rest/loss_overhead_s", 0.0))

    rounds: list[dict[str, list[float]]] = []
    cpu_rounds: list[dict[str, list[float]]] = []
    overhead: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(args.rounds):
            times: dict[str, list[float]] = {}
            cpu: dict[str, list[float]] = {}
            for arm in round_order(rnd):
                cfg = load_config(arm, [
                    f"output_dir={tmp}/{arm}{rnd}", f"grpo.max_steps={args.steps}", "grpo.use_cpu=true", "grpo.bf16=false",
                    f"grpo.per_device_train_batch_size={args.batch}", f"grpo.num_generations={args.generations}",
                    f"grpo.max_completion_length={args.completion}", "grpo.save_steps=100000", "grpo.learning_rate=1e-6",
                    f"grpo.generation_kwargs={{min_new_tokens: {args.completion}}}", "grpo.save_strategy=no",
                    "grpo.disable_tqdm=true",
                ])
                cb = StepTimes()
                trainer = build_trainer(cfg, model=copy.deepcopy(base_model), tokenizer=tok, train_dataset=data,
                                        callbacks=[cb], trainer_cls=GRPOTrainer if arm == "grpo" else None,
                                        log=lambda _: None)
                t0 = time.perf_counter()
                trainer.train()
                print(f"round {rnd} {arm}: {time.perf_counter() - t0:.1f}s, step times {[round(t, 3) for t in cb.times]}",
                      flush=True)
                times[arm] = cb.times[1:]
                cpu[arm] = cb.cpu[1:]
                if arm == "rest":
                    overhead.extend(cb.overhead[1:])
            rounds.append(times)
            cpu_rounds.append(cpu)
    load_end = os.getloadavg()
    s = summarize(rounds)
    c = summarize(cpu_rounds, "cpu_ratio")
    g = statistics.median(t for rd in rounds for t in rd["grpo"])
    r = statistics.median(t for rd in rounds for t in rd["rest"])
    print(f"model={args.model} batch={args.batch} completion={args.completion} steps/run={args.steps} rounds={args.rounds}")
    print(f"median step time over all rounds: grpo {g:.3f}s  rest {r:.3f}s")
    print(f"rest/grpo ratio: median over {len(rounds)} rounds {s['ratio_median']:.3f}x "
          f"(min {s['ratio_min']:.3f}x, max {s['ratio_max']:.3f}x; target <= {TARGET}x)")
    print(f"rest/grpo CPU-time ratio: median {c['cpu_ratio_median']:.3f}x "
          f"(min {c['cpu_ratio_min']:.3f}x, max {c['cpu_ratio_max']:.3f}x)")
    oh = statistics.median(overhead) if overhead else None
    if oh is not None:
        print(f"ResT in-process overhead (labelling, weights, entropy bookkeeping, metrics; timed inside the trainer): "
              f"median {oh * 1000:.1f} ms/step = {oh / r:.2%} of a rest step")
    print(f"load average (1/5/15 min): start {load_start}, end {load_end}")
    result = {
        "bench": "trainer_overhead", "date": dt.datetime.fromtimestamp(t_start).isoformat(timespec="seconds"),
        "args": vars(args), "host": platform.node(), "cpus": os.cpu_count(),
        "load_start": load_start, "load_end": load_end, "wall_s": round(time.time() - t_start, 1),
        "rounds": rounds, **s, "target": TARGET, "pass": s["ratio_median"] <= TARGET,
        "cpu_rounds": cpu_rounds, **c, "torch_threads": __import__("torch").get_num_threads(),
        "grpo_step_median_s": g, "rest_step_median_s": r, "rest_overhead_median_s": oh,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.fromtimestamp(t_start).strftime("%Y-%m-%dT%H%M")
    path = out / f"trainer_overhead_{stamp}_{args.model}_t{args.threads or 'default'}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
