"""How often bf16 changes a verdict, not only a text: the same model evaluated in fp32 and in bf16, item by item.

Runs `rest eval` three times on the same items with a model that scores above zero (a trained checkpoint):
  fp32      the defaults (fp32 on CPU)
  bf16      --dtype bfloat16
  bf16_b8   --dtype bfloat16 --batch-size 8: other batch compositions, which change bf16's rounding
and counts, per task, the items whose text, verdict (`valid`) or format verdict (`format_ok`) differ between
runs, with each run's accuracy. Slow by design (three full evaluations): not a test.

    nice .venv/bin/python bench/bf16_verdicts.py --model runs/cpu-study/runs/grpo-s1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

RUNS = {"fp32": [], "bf16": ["--dtype", "bfloat16"], "bf16_b8": ["--dtype", "bfloat16", "--batch-size", "8"]}
PAIRS = [("fp32", "bf16"), ("fp32", "bf16_b8"), ("bf16", "bf16_b8")]


def load(run_dir: Path) -> dict[str, dict[str, dict]]:
    """task file stem -> item id -> sample record."""
    out: dict[str, dict[str, dict]] = {}
    for path in sorted((run_dir / "samples").glob("*.jsonl")):
        out[path.stem] = {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}
    return out


def compare(a: dict[str, dict], b: dict[str, dict]) -> dict[str, int]:
    ids = sorted(set(a) & set(b))
    fmt = [i for i in ids if (a[i].get("detail") or {}).get("format_ok") is not None]
    return {
        "items": len(ids),
        "text_differs": sum(a[i]["completion"] != b[i]["completion"] for i in ids),
        "verdict_differs": sum(bool(a[i]["valid"]) != bool(b[i]["valid"]) for i in ids),
        "format_verdict_differs": sum(a[i]["detail"]["format_ok"] != b[i]["detail"]["format_ok"] for i in fmt),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="a trained checkpoint dir that scores above zero")
    ap.add_argument("--tasks", default="toolrl:test,apibank:level-1")
    ap.add_argument("--limit", default="100")
    ap.add_argument("--max-new-tokens", default="256")
    ap.add_argument("--work", default="runs/bench/bf16_verdicts")
    ap.add_argument("--out", default="runs/bench/bf16_verdicts.json")
    args = ap.parse_args()
    exe = str(Path(sys.executable).with_name("rest"))
    res: dict = {"model": args.model, "tasks": args.tasks, "limit": args.limit, "max_new_tokens": args.max_new_tokens,
                 "load_at_start": [round(x, 2) for x in os.getloadavg()], "wall_s": {}, "accuracy": {}, "pairs": {}}
    runs = {}
    for name, extra in RUNS.items():
        t0 = time.perf_counter()
        cmd = [exe, "eval", "--model", args.model, "--tasks", args.tasks, "--limit", args.limit,
               "--max-new-tokens", args.max_new_tokens, "--output-dir", args.work, "--run-name", name, "--resume", *extra]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        res["wall_s"][name] = round(time.perf_counter() - t0, 1)
        runs[name] = load(Path(args.work) / name)
        res["accuracy"][name] = {t: round(sum(bool(r["valid"]) for r in recs.values()) / len(recs), 4)
                                 for t, recs in runs[name].items()}
        print(name, res["wall_s"][name], "s", res["accuracy"][name], flush=True)
    for a, b in PAIRS:
        res["pairs"][f"{a}_vs_{b}"] = {t: compare(runs[a][t], runs[b][t]) for t in runs[a]}
    res["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))
    print(json.dumps(res["pairs"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
