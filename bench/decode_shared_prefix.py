"""A/B in one process: the hf backend's fast path with the shared prefix copied into every row (the default)
against the prefix kept once (`HFBackend(shared_prefix=True)`, cascade attention in decode).

Interleaved repetitions on the same prompts (BFCL simple_python, embedded SmolLM2, fp32, greedy); prints wall,
prefill and decode seconds, decode steps and rows per decode group, the load, and how many greedy texts agree.

    nice .venv/bin/python bench/decode_shared_prefix.py --n 64 --max-new-tokens 96 --threads 2 --reps 2
"""

from __future__ import annotations

import argparse
import json
import os
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=64, help="prompts (first N of bfcl:simple_python)")
    p.add_argument("--max-new-tokens", type=int, default=96)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=2, help="interleaved repetitions of each variant")
    p.add_argument("--out", default=None, help="also write the figures as JSON here")
    args = p.parse_args()

    import torch

    from harness import tasks
    from harness.backends.base import GenParams
    from harness.backends.hf import HFBackend

    torch.set_num_threads(args.threads)
    task = tasks.get("bfcl:simple_python")
    prompts = [task.prompt(s, "prompting") for s in task.samples()[: args.n]]
    variants = {k: HFBackend(None, device="cpu", dtype="float32", batch_size=len(prompts), shared_prefix=k == "once")
                for k in ("copied", "once")}
    params = GenParams(max_new_tokens=args.max_new_tokens)
    texts: dict[str, list[str]] = {}
    rows = []
    for rep in range(args.reps):
        for name, backend in variants.items():
            backend.stats = {k: 0 if isinstance(v, int) else 0.0 for k, v in backend.stats.items()}
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            out = backend.generate(prompts, params)
            wall = time.perf_counter() - t0
            texts[name] = [c.text for c in out]
            lengths = [len(x) for x in backend.encode(prompts)]
            plen = backend.stats["prefix_tokens_reused"] or backend.stats["prefix_tokens_computed"]
            row = {"rep": rep, "variant": name, "wall_s": round(wall, 2), "prefill_s": round(backend.stats["prefill_s"], 2),
                   "decode_s": round(backend.stats["decode_s"], 2), "decode_steps": backend.stats["decode_steps"],
                   "rows_per_group": backend._decode_rows(plen, max(lengths) - plen, params.max_new_tokens),
                   "load_start": round(load, 2), "load_end": round(os.getloadavg()[0], 2)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    same = sum(a == b for a, b in zip(texts["copied"], texts["once"], strict=True))
    print(f"greedy texts identical: {same}/{len(prompts)}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"args": vars(args), "runs": rows, "identical": same, "n": len(prompts)}, fh, indent=2)


if __name__ == "__main__":
    main()
