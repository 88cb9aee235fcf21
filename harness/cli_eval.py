"""`rest eval`: score a model on benchmark tasks."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

DEFAULT_TASKS = "bfcl:simple_python"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a model on BFCL / API-Bank tasks",
        description="Generate with a backend, score with the official-equivalent checkers, write "
        "DIR/<run-name>/samples/<task>.jsonl and summary.json, print a table.",
    )
    p.add_argument("--model", default=None,
                   help="local HF checkpoint dir (incl. LoRA adapter dirs), hub id, or served model name for "
                        "--backend openai; default: the embedded SmolLM2-135M-Instruct")
    p.add_argument("--backend", default="hf", help="generation backend: hf (default), vllm, openai, llamacpp")
    p.add_argument("--tasks", default=DEFAULT_TASKS,
                   help=f"comma-separated tasks or groups, e.g. bfcl:simple_python,bfcl:live,apibank:all "
                        f"(default {DEFAULT_TASKS}; see --list-tasks)")
    p.add_argument("--list-tasks", action="store_true", help="list known tasks and groups, then exit")
    p.add_argument("--format", default="auto", choices=["auto", "prompting", "fc", "toolrl", "apibank"],
                   help="prompt format; auto = each task's default (BFCL: prompting, API-Bank: its own prompt)")
    p.add_argument("--limit", type=int, default=None, help="score only the first N samples of each task")
    p.add_argument("--batch-size", type=int, default=8, help="prompts per generation batch (default 8)")
    p.add_argument("--max-new-tokens", type=int, default=256, help="generation budget per sample (default 256)")
    p.add_argument("--temperature", type=float, default=0.0, help="sampling temperature; 0 = greedy (default)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling p when temperature > 0")
    p.add_argument("--seed", type=int, default=0, help="sampling seed")
    p.add_argument("--device", default="auto", help="hf backend: cpu, cuda, cuda:1, mps or auto (default)")
    p.add_argument("--dtype", default="auto",
                   help="hf backend: auto (fp32 on CPU, bf16 on GPU), float32, bfloat16, float16")
    p.add_argument("--adapter", default=None, help="hf backend: LoRA adapter dir applied on top of --model")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    g = p.add_argument_group("backend-specific options")
    g.add_argument("--base-url", default=None,
                   help="openai backend: server URL ending in /v1 (default $OPENAI_BASE_URL, else api.openai.com)")
    g.add_argument("--api-key-env", default="OPENAI_API_KEY",
                   help="openai backend: environment variable holding the API key (default OPENAI_API_KEY)")
    g.add_argument("--concurrency", type=int, default=8, help="openai backend: parallel requests (default 8)")
    g.add_argument("--timeout", type=float, default=120.0, help="openai backend: seconds per request (default 120)")
    g.add_argument("--max-retries", type=int, default=4,
                   help="openai backend: retries on 429/5xx/timeouts/connection errors (default 4)")
    g.add_argument("--tensor-parallel-size", type=int, default=1, help="vllm backend: GPUs per model (default 1)")
    g.add_argument("--max-model-len", type=int, default=None, help="vllm backend: context length cap")
    g.add_argument("--gguf-file", default=None,
                   help="llamacpp backend: GGUF file inside a --model dir or hub repo (default: the embedded GGUF)")
    g.add_argument("--kv-budget-mb", type=int, default=None,
                   help="hf backend: memory the decode KV cache may use, in MiB; more rows decode together with "
                        "more (default 1024)")
    g.add_argument("--no-prefix-cache", action="store_true",
                   help="hf backend: plain transformers generate instead of the shared-prefix KV cache path")
    p.add_argument("--output-dir", default="runs", help="parent directory of run directories (default runs/)")
    p.add_argument("--run-name", default=None, help="run directory name (default: derived from model and format)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run: keep finished samples, redo torn and failed ones")
    p.add_argument("--overwrite", action="store_true", help="discard existing samples of the run and start again")
    p.add_argument("--summarize-only", action="store_true",
                   help="load no model, generate nothing: write summary.json and the table from the samples already "
                        "in the run directory (an interrupted run; tasks then count only the items they hold)")
    p.add_argument("--no-progress", action="store_true", help="disable the progress bar")
    p.add_argument("--no-fetch", action="store_true",
                   help="never download missing benchmark data (by default API-Bank / ToolRL files not found locally "
                        "are fetched once into the cache, pinned and sha256-verified, as `rest data fetch` does)")
    p.add_argument("--skip-missing-data", action="store_true",
                   help="run the tasks whose data is present and skip the others with one line each dataset "
                        "(what `make demo` does); without it, missing data is an error")
    p.set_defaults(func=run_eval)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"


def run_eval(args: argparse.Namespace) -> int:
    from harness import task_data
    from harness import tasks as registry
    from harness.types import UserError

    if args.list_tasks:
        for name in registry.known_tasks():
            print(name)
        for group, members in registry.known_groups().items():
            print(f"{group}  (group: {len(members)} tasks)")
        return 0
    if args.limit is not None and args.limit <= 0:
        raise UserError("--limit must be a positive integer")
    if args.batch_size <= 0:
        raise UserError("--batch-size must be a positive integer")
    if args.kv_budget_mb is not None and args.kv_budget_mb <= 0:
        raise UserError("--kv-budget-mb must be a positive integer")
    # every task's data is found (or fetched, or skipped) and its format checked before any model loads
    task_names = task_data.prepare(registry.expand(args.tasks), fetch=not args.no_fetch, skip_missing=args.skip_missing_data)
    for name in task_names:
        task = registry.get(name)
        if args.format != "auto" and args.format not in task.formats:
            raise UserError(f"task {name} does not support --format {args.format} (supported: {', '.join(task.formats)})")

    from harness.backends import make_backend
    from harness.backends.base import GenParams
    from harness.report import print_summary
    from harness.runner import RunConfig, run

    if args.summarize_only and args.overwrite:
        raise UserError("--summarize-only reads the run's samples; it cannot be combined with --overwrite")
    kwargs = {"model": args.model}
    if args.backend == "hf":
        kwargs.update(device=args.device, dtype=args.dtype, batch_size=args.batch_size, adapter=args.adapter,
                      threads=args.threads, prefix_cache=not args.no_prefix_cache)
        if args.kv_budget_mb is not None:
            kwargs["kv_budget_mb"] = args.kv_budget_mb
    elif args.backend == "openai":
        kwargs.update(base_url=args.base_url, api_key_env=args.api_key_env, concurrency=args.concurrency,
                      timeout=args.timeout, max_retries=args.max_retries)
    elif args.backend == "vllm":
        kwargs.update(adapter=args.adapter, dtype=args.dtype, tensor_parallel_size=args.tensor_parallel_size,
                      max_model_len=args.max_model_len, seed=args.seed)
    elif args.backend == "llamacpp":
        kwargs.update(gguf_file=args.gguf_file, threads=args.threads, seed=args.seed)
    backend = None if args.summarize_only else make_backend(args.backend, **kwargs)
    served = backend.info().get("model") if backend is not None and args.backend == "openai" else None
    label = args.model or served or "SmolLM2-135M-Instruct (embedded)"
    short = Path(label).name if (args.model or served) else "SmolLM2-135M-Instruct"
    run_name = args.run_name or slug(f"{short}__{args.backend}__{args.format}")
    batch_size = args.batch_size
    if args.backend in ("openai", "vllm"):  # the server / engine batches itself: hand it enough work at once
        batch_size = max(batch_size, 4 * getattr(args, "concurrency", 8), 64 if args.backend == "vllm" else 0)
    cfg = RunConfig(
        tasks=task_names, out_dir=Path(args.output_dir) / run_name, fmt=args.format, limit=args.limit,
        batch_size=batch_size, resume=args.resume, overwrite=args.overwrite, model_label=label,
        progress=not args.no_progress,
        backend_info={"backend": args.backend, "model_path": args.model, "dtype": args.dtype,
                      "summarized_from_samples": True} if backend is None else None,
        gen=GenParams(max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p,
                      seed=args.seed),
    )
    summary = run(backend, cfg)
    print_summary(summary)
    for name, t in summary["tasks"].items():
        if t["total"] + t["failed"] < t["planned"]:
            print(f"partial: {name} holds {t['total'] + t['failed']} of {t['planned']} items "
                  "(rerun the command with --resume to finish it)")
    print(f"run directory: {cfg.out_dir}")
    return 0
