"""The linear layers of one decode step or prefill chunk: torch's default fp32 matmul (MKL) against oneDNN.

Times the 30 layers' seven projections of SmolLM2-135M (576 hidden, 1,536 MLP, 3 KV heads of 64), each layer
with its own weights so they stream from memory as in a real step, plus the 49,152-row output layer, at a
range of row counts (decode rows, or prefill tokens). This is why the hf backend converts its linear layers
(`harness/backends/onednn.py`) and why one decode group of 64 rows would beat two of 32.

    nice .venv/bin/python bench/onednn_linear.py            # ~1 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import time

SHAPES = [(576, 576), (192, 576), (192, 576), (576, 576), (1536, 576), (1536, 576), (576, 1536)]  # out, in


def main() -> int:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", default="1,8,32,64,128,2048")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    dense = [[torch.randn(o, i, generator=g) for o, i in SHAPES] for _ in range(30)]
    head = torch.randn(49152, 576, generator=g)
    packed = [[torch.ops.mkldnn._reorder_linear_weight(w, 1024) for w in layer] for layer in dense]
    head_packed = torch.ops.mkldnn._reorder_linear_weight(head, 1024)

    def mkl(x, w):
        return torch.nn.functional.linear(x, w)

    def onednn(x, w):
        return torch.ops.mkldnn._linear_pointwise(x, w, None, "none", [], "")

    def timed(fn, layers, out, rows: int) -> float:
        x, xi = torch.randn(rows, 576), torch.randn(rows, 1536)

        def once() -> None:
            for layer in layers:
                for w, (_, i) in zip(layer, SHAPES, strict=True):
                    fn(xi if i == 1536 else x, w)
            fn(x, out)

        once()
        reps = max(2, int(64 / max(1, rows // 32)))
        t0 = time.perf_counter()
        for _ in range(reps):
            once()
        return (time.perf_counter() - t0) / reps * 1000

    res = {"load_at_start": [round(v, 2) for v in os.getloadavg()], "threads": args.threads, "ms": {}}
    with torch.inference_mode():
        for rows in (int(r) for r in args.rows.split(",")):
            a, b = timed(mkl, dense, head, rows), timed(onednn, packed, head_packed, rows)
            res["ms"][rows] = {"mkl": round(a, 1), "onednn": round(b, 1), "speedup": round(a / b, 2)}
            print(f"{rows:5d} rows  MKL {a:8.1f} ms  oneDNN {b:8.1f} ms  {a / b:4.2f}x", flush=True)
    res["load_at_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
