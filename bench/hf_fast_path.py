"""What each part of the hf backend's CPU fast path is worth: the default against the default minus one part.

Each variant runs in its own process (the memory settings are process-wide), on the same prompts:
64 BFCL simple_python prompts, embedded SmolLM2-135M, fp32, greedy, 96 new tokens, 2 threads. It reports
`generate`'s wall time with the backend's prefill/decode split, peak RSS, and whether the greedy texts equal the
default's. Repetitions alternate the variants, so drift on a shared machine falls on all of them alike.

  default           HFBackend() as `rest eval` builds it
  no_lean           lean=False: transformers' own forward for every step (lean_forward.py)
  no_freed_memory   keep_freed_memory=False: glibc's default malloc thresholds (cpu_malloc.py)
  no_onednn         onednn=False: torch's default fp32 matmul (MKL), and so no lean step either

    nice .venv/bin/python bench/hf_fast_path.py --reps 2 --out bench/results/hf_fast_path_DATE.json

Slow by design: not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {"default": {}, "no_lean": {"lean": False}, "no_freed_memory": {"keep_freed_memory": False},
            "no_onednn": {"onednn": False}}


def one(kwargs: dict, n: int, max_new: int, threads: int) -> dict:
    """Run in a child: build the backend with `kwargs`, generate once, report."""
    import resource
    import time

    import torch

    sys.path.insert(0, str(ROOT))
    from harness import tasks
    from harness.backends.base import GenParams
    from harness.backends.hf import HFBackend

    torch.set_num_threads(threads)
    task = tasks.get("bfcl:simple_python")
    prompts = [task.prompt(s, "prompting") for s in task.samples()[:n]]
    backend = HFBackend(None, device="cpu", **kwargs)
    t0 = time.perf_counter()
    texts = [c.text for c in backend.generate(prompts, GenParams(max_new_tokens=max_new))]
    wall = time.perf_counter() - t0
    return {"wall_s": round(wall, 2), "prefill_s": round(backend.stats["prefill_s"], 2),
            "decode_s": round(backend.stats["decode_s"], 2), "decode_steps": backend.stats["decode_steps"],
            "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3),
            "lean_forward": backend.lean is not None, "keeps_freed_memory": backend.keeps_freed_memory,
            "onednn": backend.onednn, "texts": texts}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=64, help="prompts (first N of bfcl:simple_python)")
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=2, help="repetitions of the whole set of variants")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma list of {', '.join(VARIANTS)}")
    ap.add_argument("--out", default="runs/bench/hf_fast_path.json")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one(VARIANTS[args.child], args.n, args.max_new_tokens, args.threads)))
        return 0
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    runs: dict[str, list[dict]] = {v: [] for v in names}
    load_start = [round(x, 2) for x in os.getloadavg()]
    for rep in range(args.reps):
        for v in names:
            cmd = [sys.executable, __file__, "--child", v, "--n", str(args.n), "--max-new-tokens",
                   str(args.max_new_tokens), "--threads", str(args.threads)]
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
            res = json.loads(out.strip().splitlines()[-1])
            runs[v].append(res)
            print(f"rep {rep} {v:16s} generate {res['wall_s']:6.1f} s  prefill {res['prefill_s']:5.1f}  "
                  f"decode {res['decode_s']:5.1f}  peak {res['peak_rss_gib']:.2f} GiB", flush=True)
    base = runs.get("default")
    summary = {}
    for v, rs in runs.items():
        best = min(r["wall_s"] for r in rs)
        row = {"wall_s": [r["wall_s"] for r in rs], "prefill_s": [r["prefill_s"] for r in rs],
               "decode_s": [r["decode_s"] for r in rs], "peak_rss_gib": [r["peak_rss_gib"] for r in rs]}
        if base and v != "default":
            row["best_wall_over_default"] = round(best / min(r["wall_s"] for r in base), 3)
            row["texts_equal_default"] = sum(a == b for a, b in zip(rs[0]["texts"], base[0]["texts"], strict=True))
        summary[v] = row
    result = {"n": args.n, "max_new_tokens": args.max_new_tokens, "threads": args.threads, "reps": args.reps,
              "load_at_start": load_start, "load_at_end": [round(x, 2) for x in os.getloadavg()],
              "summary": summary}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**result, "runs": runs}, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
