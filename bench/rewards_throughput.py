"""Throughput of the pure training-time hot paths: ToolRL reward (completions/s) and region labelling (tokens/s).

Targets (issue 4): >= 20,000 reward evaluations/s; labelling far below 1 ms per token.
Corpus: the 480 ToolRL ground truths (SFT + test split) as completions, with a
realistic mix of right, partly right and broken variants.

    .venv/bin/python bench/rewards_throughput.py [--n 20000] [--tokenizer qwen|smollm2|both]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.toolrl.data import resolve  # noqa: E402
from harness.toolrl.reward import toolrl_reward  # noqa: E402
from harness.toolrl.schedule import RewardConfig  # noqa: E402
from harness.types import UserError  # noqa: E402


def ground_truths() -> list[str]:
    import pandas as pd

    try:  # found where `rest` finds it (env var, fetch cache, ../shared); else one line, not a traceback
        sft, test = resolve("toolrl:sft"), resolve("toolrl:test")
    except UserError as exc:
        sys.exit(f"rewards_throughput: {exc}")
    out = [x["output"] for x in json.loads(sft.read_text())]
    out += [r["ground_truth"] for r in pd.read_parquet(test).reward_model]
    return out


def variant(gt: str, rng: random.Random) -> str:
    k = rng.randrange(8)
    if k == 0:
        return gt.replace('"parameters": {', '"parameters": {"extra": 1, ', 1)
    if k == 1:
        return gt.replace("</tool_call>", "")
    if k == 2:
        return gt.replace('"}', ' x"}', 1)
    if k == 3:
        return "<|im_start|>assistant\n" + gt + "<|im_end|>"
    if k == 4:
        return gt.split("</think>")[0] + "</think>\n<response>I cannot help.</response>"
    if k == 5:
        return gt.replace("{", "{{", 1)
    return gt


def bench_reward(n: int) -> tuple[float, float]:
    """(completions per wall second, per CPU second): the CPU figure is robust to a shared, busy machine."""
    rng = random.Random(0)
    gts = ground_truths()
    rows = []
    for _ in range(n):
        gt = rng.choice(gts)
        rows.append((variant(gt, rng), gt, rng.randrange(150)))
    cfg = RewardConfig()
    for c, g, s in rows[:200]:  # warm the ground-truth cache as a training run would
        toolrl_reward(c, g, s, cfg)
    rates, cpu_rates = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        for c, g, s in rows:
            toolrl_reward(c, g, s, cfg)
        rates.append(n / (time.perf_counter() - t0))
        cpu_rates.append(n / max(1e-9, time.process_time() - c0))
    return statistics.median(rates), statistics.median(cpu_rates)


def bench_labeller(name: str, seqs: int = 64, length: int = 512) -> tuple[float, float, float]:
    from tests.qwen_tokenizer import qwen_tokenizer, smollm2_tokenizer
    from trainer.regions import RegionLabeller

    tok = qwen_tokenizer() if name == "qwen" else smollm2_tokenizer()
    t0 = time.perf_counter()
    lab = RegionLabeller(tok)
    init_s = time.perf_counter() - t0
    rng = random.Random(1)
    gts = ground_truths()
    batch = []
    while len(batch) < seqs:
        ids = tok.encode(variant(rng.choice(gts), rng), add_special_tokens=False)
        ids = (ids + [tok.eos_token_id] + [tok.pad_token_id or tok.eos_token_id] * length)[:length]
        batch.append(ids)
    lab.label_batch(batch[:2])
    rates, cpu_rates = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        lab.label_batch(batch)
        rates.append(seqs * length / (time.perf_counter() - t0))
        cpu_rates.append(seqs * length / max(1e-9, time.process_time() - c0))
    tps = statistics.median(rates)
    return tps, statistics.median(cpu_rates), 1e3 * length / tps, init_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="reward evaluations per timing round")
    ap.add_argument("--tokenizer", choices=["qwen", "smollm2", "both", "none"], default="both")
    args = ap.parse_args()
    rate, cpu_rate = bench_reward(args.n)
    print(
        f"toolrl_reward: {rate:,.0f} completions/s wall, {cpu_rate:,.0f} per CPU-second "
        f"(target >= 20,000) over {args.n} mixed completions"
    )
    names = ["qwen", "smollm2"] if args.tokenizer == "both" else [] if args.tokenizer == "none" else [args.tokenizer]
    for name in names:
        tps, cpu_tps, ms, init_s = bench_labeller(name)
        print(
            f"RegionLabeller[{name}]: {tps:,.0f} tokens/s wall ({cpu_tps:,.0f} per CPU-second), "
            f"{ms:.2f} ms per 512-token completion (vocab table built in {init_s:.1f} s)"
        )


if __name__ == "__main__":
    main()
