"""`rest eval`: score a model on benchmark tasks."""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

from harness.types import UserError

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
    p.add_argument("--force", action="store_true",
                   help="with --resume: continue even though the generation settings differ from the stored samples' "
                        "(summary.json then lists every setup that contributed); without it such a resume is refused")
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


def check_args(args: argparse.Namespace) -> None:
    """Refuse flag values that would crash a backend or write a misleading summary, before anything loads.

    NaN and infinity are refused wherever a number is expected: NaN compares false with every bound,
    and summary.json (strict JSON) cannot hold either.
    """
    for flag, value in (("--limit", args.limit), ("--batch-size", args.batch_size),
                        ("--max-new-tokens", args.max_new_tokens), ("--kv-budget-mb", args.kv_budget_mb),
                        ("--threads", args.threads), ("--concurrency", args.concurrency),
                        ("--tensor-parallel-size", args.tensor_parallel_size), ("--max-model-len", args.max_model_len)):
        if value is not None and value <= 0:
            raise UserError(f"{flag} must be a positive integer, got {value}")
    if not (math.isfinite(args.temperature) and args.temperature >= 0):
        raise UserError(f"--temperature must be a finite number >= 0 (0 = greedy), got {args.temperature}")
    if not (math.isfinite(args.top_p) and 0 < args.top_p <= 1):
        raise UserError(f"--top-p must be in (0, 1], got {args.top_p}")
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        raise UserError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    if args.max_retries < 0:
        raise UserError(f"--max-retries must be 0 or more, got {args.max_retries}")
    if args.run_name is not None:
        check_run_name(args.run_name)
    if args.force and not args.resume:
        raise UserError("--force only applies to --resume (continue a run whose settings differ)")
    if args.summarize_only and args.overwrite:
        raise UserError("--summarize-only reads the run's samples; it cannot be combined with --overwrite")


def check_run_name(name: str) -> None:
    """A run name is one folder inside --output-dir: no separators, no `..`, nothing absolute."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise UserError(f"--run-name {name!r} must be a plain folder name inside --output-dir "
                        "(no '/', '\\' or '..')")


def requested_backend(args: argparse.Namespace) -> dict[str, object]:
    """The backend options that shape generation, as asked for (compared with the stored run's on --resume)."""
    model = args.model or "embedded"
    if args.model and Path(args.model).expanduser().exists():
        model = str(Path(args.model).expanduser().resolve())
    out: dict[str, object] = {"model": model, "backend": args.backend}
    if args.backend in ("hf", "vllm"):
        out["adapter"] = str(Path(args.adapter).expanduser().resolve()) if args.adapter else None
    if args.backend == "llamacpp":
        out["gguf_file"] = args.gguf_file
    return out


def backend_kwargs(args: argparse.Namespace) -> dict[str, object]:
    kwargs: dict[str, object] = {"model": args.model}
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
    return kwargs


def run_eval(args: argparse.Namespace) -> int:
    from harness import task_data
    from harness import tasks as registry

    if args.list_tasks:
        for name in registry.known_tasks():
            print(name)
        for group, members in registry.known_groups().items():
            print(f"{group}  (group: {len(members)} tasks)")
        return 0
    check_args(args)
    # every task's data is found (or fetched, or skipped) and its format checked before any model loads
    loaded = task_data.prepare(registry.expand(args.tasks), fetch=not args.no_fetch, skip_missing=args.skip_missing_data)
    task_names = list(loaded)
    for name, item in loaded.items():
        task = item.task
        if args.format != "auto" and args.format not in task.formats:
            raise UserError(f"task {name} does not support --format {args.format} (supported: {', '.join(task.formats)})")

    from harness.backends import make_backend
    from harness.backends.base import GenParams
    from harness.report import print_summary
    from harness.runner import RunConfig, open_run, run

    if args.backend == "hf" and not args.summarize_only:
        from harness.backends.hf import check_device

        check_device(args.device)
    backend = None
    if args.backend == "openai" and not args.model and not args.summarize_only:
        backend = make_backend(args.backend, **backend_kwargs(args))  # no model to load: it names the served one
    served = backend.info().get("model") if backend is not None else None
    label = args.model or served or "SmolLM2-135M-Instruct (embedded)"
    short = Path(label).name if (args.model or served) else "SmolLM2-135M-Instruct"
    run_name = args.run_name or slug(f"{short}__{args.backend}__{args.format}")
    batch_size = args.batch_size
    if args.backend in ("openai", "vllm"):  # the server / engine batches itself: hand it enough work at once
        batch_size = max(batch_size, 4 * getattr(args, "concurrency", 8), 64 if args.backend == "vllm" else 0)
    cfg = RunConfig(
        tasks=task_names, out_dir=Path(args.output_dir) / run_name, fmt=args.format, limit=args.limit,
        batch_size=batch_size, resume=args.resume, overwrite=args.overwrite, model_label=label,
        progress=not args.no_progress, force=args.force, requested=requested_backend(args), loaded=loaded,
        backend_info={"backend": args.backend, "model_path": args.model, "dtype": args.dtype,
                      "summarized_from_samples": True} if args.summarize_only else None,
        gen=GenParams(max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p,
                      seed=args.seed),
    )
    with open_run(cfg, generating=not args.summarize_only) as lock:  # checked and locked before the model loads
        if backend is None and not args.summarize_only:
            backend = make_backend(args.backend, **backend_kwargs(args))
        summary = run(backend, cfg, lock=lock)
    print_summary(summary)
    for name, t in summary["tasks"].items():
        if t["total"] + t["failed"] < t["planned"]:
            print(f"partial: {name} holds {t['total'] + t['failed']} of {t['planned']} items "
                  "(rerun the command with --resume to finish it)")
    print(f"run directory: {cfg.out_dir}")
    return 0
