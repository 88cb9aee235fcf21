"""Generation throughput on BFCL simple_python: baselines, our hf backend, and the compute floor.

One run measures, on the embedded SmolLM2-135M, the first N prompts of
`bfcl:simple_python` (prompting format), greedy, M new tokens, T threads:
  a      one prompt at a time with transformers `generate` (fp32; the reference outputs)
  b      lm-eval's `HFLM.generate_until` at batch 16 (fp32), in this process
  c      our `hf` backend at its defaults (fp32), in this process (outputs compared with a)
  c_bf16 the same in bf16 (outputs and accuracy compared with a)
  rest   whole process: `rest eval --tasks bfcl:simple_python --limit N --max-new-tokens M` and no other
         flag (the defaults users get), under /usr/bin/time: wall, peak RSS, texts compared with a
  lmeval whole process: `lm_eval --model hf` on our `bfcl_simple_python` lm-eval task (the same prompts),
         --batch_size 16, fp32, --limit N, max_gen_toks M: wall, peak RSS, texts compared with a
  floor  FLOPs of the unique prompt tokens + generated tokens over the matmul rate measured here, at torch's
         default fp32 matmul (MKL) and at oneDNN's (packed weights), the best this CPU gives

    nice .venv/bin/python bench/eval_throughput.py --modes a,rest,lmeval,floor   # the issue-21 acceptance run
    nice .venv/bin/python bench/eval_throughput.py --n 8 --modes a,c  # quick slice

Prints a table and writes JSON (--out). Slow by design: not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def load_prompts(n: int):
    from harness import tasks

    task = tasks.get("bfcl:simple_python")
    samples = task.samples()[:n]
    return task, samples, [task.prompt(s, "prompting") for s in samples]


def render(tok, prompt) -> list[int]:
    text = tok.apply_chat_template(prompt.messages, tokenize=False, add_generation_prompt=True)
    return tok(text, add_special_tokens=False)["input_ids"]


def cut(tok, toks: list[int], eos: set[int]) -> str:
    n = next((k for k, t in enumerate(toks) if t in eos), len(toks))
    return tok.decode(toks[:n], skip_special_tokens=False)


def run_a(model_dir, prompts, max_new: int) -> tuple[float, list[str]]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    eos = {tok.eos_token_id, tok.pad_token_id}
    texts = []
    t0 = time.perf_counter()
    for p in prompts:
        ids = torch.tensor([render(tok, p)])
        with torch.inference_mode():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new, do_sample=False,
                                 temperature=None, top_p=None, top_k=None, pad_token_id=tok.pad_token_id)
        texts.append(cut(tok, out[0, ids.shape[1]:].tolist(), eos))
    return time.perf_counter() - t0, texts


def run_b(model_dir, prompts, max_new: int, batch: int) -> tuple[float, list[str]]:
    import torch
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    lm = HFLM(pretrained=str(model_dir), device="cpu", dtype=torch.float32, batch_size=batch)
    reqs = []
    for i, p in enumerate(prompts):
        ctx = tok.apply_chat_template(p.messages, tokenize=False, add_generation_prompt=True)
        reqs.append(Instance("generate_until", {}, (ctx, {"until": [tok.eos_token], "max_gen_toks": max_new,
                                                          "do_sample": False}), i))
    t0 = time.perf_counter()
    texts = lm.generate_until(reqs, disable_tqdm=True)
    return time.perf_counter() - t0, texts


def run_c(model_dir, prompts, max_new: int, dtype: str,
          kv_budget_mb: int | None = None) -> tuple[float, list[str], dict]:
    from harness.backends.base import GenParams
    from harness.backends.hf import HFBackend

    extra = {"kv_budget_mb": kv_budget_mb} if kv_budget_mb else {}
    backend = HFBackend(str(model_dir), device="cpu", dtype=dtype, **extra)
    t0 = time.perf_counter()
    comps = backend.generate(prompts, GenParams(max_new_tokens=max_new))
    return time.perf_counter() - t0, [c.text for c in comps], dict(backend.stats)


def matmul_rate(dtype_name: str, size: int = 1024, seconds: float = 2.0, onednn: bool = False) -> float:
    """Sustained GFLOP/s of a square matmul, the ceiling for dense transformer work on this CPU: torch's default
    kernel (`a @ b`, MKL for fp32), or oneDNN with a packed weight as the hf backend runs its linear layers."""
    import torch

    dt = getattr(torch, dtype_name)
    a, b = torch.randn(size, size, dtype=dt), torch.randn(size, size, dtype=dt)
    if onednn:
        packed = torch.ops.mkldnn._reorder_linear_weight(b, size)

        def step():
            return torch.ops.mkldnn._linear_pointwise(a, packed, None, "none", [], "")
    else:
        def step():
            return a @ b
    for _ in range(3):
        step()
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        reps += 1
    return 2 * size**3 * reps / (time.perf_counter() - t0) / 1e9


def read_bandwidth(gib: int = 1, reps: int = 3) -> float:
    """GB/s of reading a tensor far larger than the caches (a sum over `gib` GiB of fp32), best of `reps`: the
    ceiling for a decode step, which reads every weight and the rows' KV once."""
    import torch

    x = torch.ones(gib * 2**28)
    x.sum()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        x.sum()
        best = min(best, time.perf_counter() - t0)
    return x.numel() * 4 / best / 1e9


def floor_figures(model_dir, prompts, max_new_tokens: int, gen_lengths: list[int]) -> dict:
    """FLOPs over matmul rate: 2*params per token (lm head only for generated tokens) + attention. For decode also
    the bytes a step must read at least (all weights once per step, every row's KV, the shared prefix's once)
    over the measured read bandwidth, with every row in one step: a decode step cannot beat either bound."""
    from transformers import AutoConfig, AutoTokenizer

    from harness.backends.prefix_cache import common_prefix_len

    cfg = AutoConfig.from_pretrained(model_dir)
    tok = AutoTokenizer.from_pretrained(model_dir)
    enc = [render(tok, p) for p in prompts]
    d, layers, inter, vocab = cfg.hidden_size, cfg.num_hidden_layers, cfg.intermediate_size, cfg.vocab_size
    kv = d * cfg.num_key_value_heads // cfg.num_attention_heads
    per_layer = 2 * (d * d * 2 + d * kv * 2 + 3 * d * inter)  # q,o + k,v + gated MLP
    body, head = layers * per_layer, 2 * d * vocab
    lcp = common_prefix_len(enc)
    all_prompt = sum(len(e) for e in enc)
    unique_prompt = lcp + sum(len(e) - lcp for e in enc)
    mean_ctx = all_prompt / len(enc) + max_new_tokens / 2
    attn = 4 * layers * d  # per token per context position (QK^T and AV)
    flops_all = all_prompt * body + sum(len(e) ** 2 / 2 for e in enc) * attn
    flops_unique = unique_prompt * body + sum((len(e) ** 2 - lcp**2) / 2 for e in enc) * attn + lcp**2 / 2 * attn
    gen_tokens = sum(gen_lengths)
    flops_gen = gen_tokens * (body + head + mean_ctx * attn)
    rates = {"float32": matmul_rate("float32"), "float32_onednn": matmul_rate("float32", onednn=True),
             "bfloat16": matmul_rate("bfloat16")}
    best32 = max(rates["float32"], rates["float32_onednn"])
    weight_bytes = 4 * (body + head) // 2  # fp32: 2 FLOPs per parameter per token
    kv_token_bytes = 4 * 2 * layers * kv  # k and v of every layer
    steps = max(gen_lengths)
    own_kv = sum((len(e) - lcp) * n + n * (n - 1) / 2 for e, n in zip(enc, gen_lengths, strict=True))
    decode_bytes = steps * weight_bytes + (own_kv + steps * lcp) * kv_token_bytes
    bandwidth = read_bandwidth()
    return {
        "prompt_tokens_all": all_prompt, "prompt_tokens_unique": unique_prompt, "shared_prefix": lcp,
        "generated_tokens": gen_tokens,
        "gflops_per_s": {k: round(v, 1) for k, v in rates.items()},
        "read_gb_per_s": round(bandwidth, 1), "decode_gb_read": round(decode_bytes / 1e9, 1),
        "floor_s": {
            "fp32_all_prompt_tokens": round((flops_all + flops_gen) / rates["float32"] / 1e9, 1),
            "fp32_shared_prefix_once": round((flops_unique + flops_gen) / rates["float32"] / 1e9, 1),
            "fp32_best_kernel_shared_prefix_once": round((flops_unique + flops_gen) / best32 / 1e9, 1),
            "fp32_best_kernel_prefill": round(flops_unique / best32 / 1e9, 1),
            "fp32_best_kernel_decode": round(flops_gen / best32 / 1e9, 1),
            "fp32_decode_memory": round(decode_bytes / bandwidth / 1e9, 1),
            "bf16_shared_prefix_once": round((flops_unique + flops_gen) / rates["bfloat16"] / 1e9, 1),
        },
    }


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall s, peak RSS GB, output) of a whole process under /usr/bin/time -v."""
    import subprocess

    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    rss_kb = int(next(line.split(":")[1] for line in proc.stderr.splitlines() if "Maximum resident set size" in line))
    return wall, rss_kb / 2**20, proc.stdout + proc.stderr


def run_rest(samples, n: int, max_new: int, work: Path) -> tuple[float, float, list[str]]:
    """`rest eval` at its defaults, whole process."""
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    exe = str(Path(sys.executable).with_name("rest"))
    wall, rss, _ = timed([exe, "eval", "--tasks", "bfcl:simple_python", "--limit", str(n),
                          "--max-new-tokens", str(max_new), "--output-dir", str(work), "--run-name", "bench"])
    rows = {json.loads(line)["id"]: json.loads(line)["completion"]
            for line in next((work / "bench" / "samples").glob("*simple_python*.jsonl")).read_text().splitlines()}
    return wall, rss, [rows[s.id] for s in samples]


def run_lmeval(model_dir, samples, n: int, max_new: int, batch: int, work: Path) -> tuple[float, float, list[str]]:
    """lm-eval's CLI with its hf model on our lm-eval task of the same prompts, whole process."""
    import shutil

    from harness.lm_eval_tasks import PATH

    shutil.rmtree(work, ignore_errors=True)
    exe = str(Path(sys.executable).with_name("lm_eval"))
    wall, rss, _ = timed([exe, "--model", "hf", "--model_args", f"pretrained={model_dir},dtype=float32",
                          "--include_path", str(PATH), "--tasks", "bfcl_simple_python", "--limit", str(n),
                          "--apply_chat_template", "--batch_size", str(batch), "--gen_kwargs", f"max_gen_toks={max_new}",
                          "--log_samples", "--output_path", str(work)])
    (path,) = work.rglob("samples_bfcl_simple_python_*.jsonl")
    rows = {json.loads(line)["doc_id"]: json.loads(line)["resps"][0][0] for line in path.read_text().splitlines()}
    return wall, rss, [rows[i] for i in range(len(samples))]


def accuracy(task, samples, texts: list[str]) -> float:
    ok = sum(bool(task.score(s, t, "prompting").verdict.valid) for s, t in zip(samples, texts, strict=True))
    return ok / len(samples)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16, help="lm-eval's batch size (b, lmeval); c and rest run at "
                    "their defaults")
    ap.add_argument("--modes", default="a,rest,lmeval,floor")
    ap.add_argument("--model", default=None, help="a local HF checkpoint dir (default: the embedded SmolLM2-135M)")
    ap.add_argument("--kv-budget-mb", type=int, default=None, help="c modes: the hf backend's KV budget (default: its own)")
    ap.add_argument("--out", default="runs/bench/eval_throughput.json")
    ap.add_argument("--reference", default=None, metavar="JSON",
                    help="take (a)'s texts and wall time from an earlier run's output instead of generating them "
                         "again (same --n and --max-new-tokens; (a) is deterministic fp32 greedy)")
    args = ap.parse_args()

    import torch

    from harness.embedded import embedded_model_dir

    torch.set_num_threads(args.threads)
    model_dir = args.model or embedded_model_dir()
    task, samples, prompts = load_prompts(args.n)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    res: dict = {"load_at_start": [round(x, 2) for x in os.getloadavg()], "model": str(model_dir), "n": len(prompts), "max_new_tokens": args.max_new_tokens, "threads": args.threads,
                 "kv_budget_mb": args.kv_budget_mb,
                 "batch_size": args.batch_size, "torch": torch.__version__, "wall_s": {}, "accuracy": {}}
    texts: dict[str, list[str]] = {}
    if args.reference:
        ref = json.loads(Path(args.reference).read_text())
        if (ref["n"], ref["max_new_tokens"]) != (len(prompts), args.max_new_tokens):
            raise SystemExit("--reference was run with another --n or --max-new-tokens")
        texts["a"], res["wall_s"]["a"] = ref["texts"]["a"], ref["wall_s"]["a"]
        res["reference"] = args.reference
        modes = [m for m in modes if m != "a"]
    for m in modes:
        if m == "a":
            res["wall_s"]["a"], texts["a"] = run_a(model_dir, prompts, args.max_new_tokens)
        elif m == "b":
            res["wall_s"]["b"], texts["b"] = run_b(model_dir, prompts, args.max_new_tokens, args.batch_size)
        elif m == "rest":
            res["wall_s"]["rest"], rss, texts["rest"] = run_rest(samples, args.n, args.max_new_tokens,
                                                                 Path("runs/bench/rest_proc"))
            res.setdefault("peak_rss_gb", {})["rest"] = round(rss, 2)
        elif m == "lmeval":
            res["wall_s"]["lmeval"], rss, texts["lmeval"] = run_lmeval(model_dir, samples, args.n, args.max_new_tokens,
                                                                       args.batch_size, Path("runs/bench/lmeval_proc"))
            res.setdefault("peak_rss_gb", {})["lmeval"] = round(rss, 2)
        elif m in ("c", "c_bf16"):
            dtype = "bfloat16" if m == "c_bf16" else "float32"
            res["wall_s"][m], texts[m], res[f"stats_{m}"] = run_c(model_dir, prompts, args.max_new_tokens,
                                                                dtype, args.kv_budget_mb)
        elif m != "floor":
            raise SystemExit(f"unknown mode {m!r}")
        if m in texts:
            res["accuracy"][m] = round(accuracy(task, samples, texts[m]), 4)
            print(f"{m:7s} {res['wall_s'][m]:8.1f} s  accuracy {res['accuracy'][m]:.3f}", flush=True)
    if "a" in texts:
        res["identical_to_a"] = {m: round(sum(x == y for x, y in zip(texts["a"], t, strict=True)) / len(t), 4)
                                 for m, t in texts.items() if m != "a"}
    if "floor" in modes:
        gen_lengths = [args.max_new_tokens] * len(prompts)
        if "a" in texts:  # actual generated tokens (EOS stops early)
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(model_dir)
            gen_lengths = [min(args.max_new_tokens, len(tok(t, add_special_tokens=False)["input_ids"]) + 1)
                           for t in texts["a"]]
        res["floor"] = floor_figures(model_dir, prompts, args.max_new_tokens, gen_lengths)
    if "b" in res["wall_s"]:
        res["speedup_vs_b"] = {m: round(res["wall_s"]["b"] / w, 2) for m, w in res["wall_s"].items() if m != "b"}
    if "lmeval" in res["wall_s"] and "rest" in res["wall_s"]:
        res["rest_share_of_lmeval_wall"] = round(res["wall_s"]["rest"] / res["wall_s"]["lmeval"], 3)
    if "floor" in res and "rest" in res["wall_s"]:
        fl = res["floor"]["floor_s"]
        res["rest_over_floor"] = {k: round(res["wall_s"]["rest"] / fl[k], 2)
                                  for k in ("fp32_shared_prefix_once", "fp32_best_kernel_shared_prefix_once")}
    res["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    res["wall_s"] = {k: round(v, 1) for k, v in res["wall_s"].items()}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**res, "texts": texts}, indent=1))
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
