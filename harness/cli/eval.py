"""`rest eval`: score a model on benchmark tasks."""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import Any

from harness.backends.base import ArgGroup, check_positive
from harness.selection import parse_ids, parse_limit, unmatched
from harness.types import UserError

DEFAULT_TASKS = "bfcl:simple_python"


def batch_size(text: str) -> int | str:
    """`--batch-size`: a positive integer or `auto`."""
    if str(text).strip().lower() == "auto":
        return "auto"
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a positive integer or auto, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer or auto, got {value}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a model on BFCL / API-Bank tasks",
        description="Generate with a backend, score with the official-equivalent checkers, write "
        "DIR/<run-name>/samples/<task>.jsonl and summary.json, print a table.",
    )
    from harness.cli.eval_config import EvalParser

    p.__class__ = EvalParser  # records which flags the command line gave, so --config fills only the others
    p.add_argument("--config", default=None, metavar="FILE.yaml",
                   help="read settings from a YAML file: every flag is a key (batch-size or batch_size); flags on the "
                        "command line win; see docs/eval_config.yaml")
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
    p.add_argument("--limit", default=None,
                   help="score only the first N items of each task, or a fraction of each: 64, or 0.1 for 10%%")
    p.add_argument("--ids", default=None, metavar="FILE_OR_LIST",
                   help="run exactly these items: a comma-separated list, or a file (one id a line, a JSON list, or "
                        "a samples .jsonl); ids may be qualified by task (bfcl:simple_python/simple_python_3)")
    p.add_argument("--repeats", type=int, default=1,
                   help="samples per item (needs --temperature > 0): reports avg@k accuracy with its interval, "
                        "pass@k and the share of items whose samples disagree; seeds are --seed + 0..k-1")
    p.add_argument("--exclude-failed", action="store_true",
                   help="show accuracy over the samples that generated (failed generations left out) instead of the "
                        "headline, where a failed generation counts as wrong as in BFCL's evaluator")
    p.add_argument("--batch-size", type=batch_size, default="auto",
                   help="prompts per generation batch, or auto (default): the backend chooses (hf: up to 64 prompts "
                        "a call, decoded in as few groups as --kv-budget-mb holds; openai/vllm: enough to keep the "
                        "server busy)")
    p.add_argument("--max-new-tokens", type=int, default=256, help="generation budget per sample (default 256)")
    p.add_argument("--temperature", type=float, default=0.0, help="sampling temperature; 0 = greedy (default)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling p when temperature > 0")
    p.add_argument("--seed", type=int, default=0, help="sampling seed")
    p.add_argument("--model-args", default=None, metavar="KEY=VALUE,...",
                   help="loading options handed to the backend, as lm-eval's --model_args: e.g. trust_remote_code=true,"
                        "revision=main,attn_implementation=sdpa (hf), quantization=awq (vllm), n_ctx=8192 (llamacpp); "
                        "a backend flag's name sets that flag (dtype=bfloat16); enable_thinking joins the template options")
    p.add_argument("--gen-kwargs", default=None, metavar="KEY=VALUE,...",
                   help="generation options, as lm-eval's --gen_kwargs: stop (or until) cuts the answer, e.g. "
                        "stop=['\\n\\n']; top_k, min_p, repetition_penalty (hf, vllm, openai, llamacpp), "
                        "frequency_penalty/presence_penalty (vllm, openai, llamacpp); temperature, top_p, max_gen_toks, "
                        "seed set their flags. A key the backend cannot honour is refused")
    p.add_argument("--chat-template-kwargs", default=None, metavar="KEY=VALUE,...",
                   help="options of the model's chat template, e.g. enable_thinking=false (Qwen3): passed to "
                        "apply_chat_template (hf, vllm) or sent as chat_template_kwargs (openai)")
    p.add_argument("--output-dir", default="runs", help="parent directory of run directories (default runs/)")
    p.add_argument("--bfcl-layout", default=None, metavar="DIR",
                   help="also write BFCL's own result/ and score/ trees and data_*.csv tables into DIR, as "
                        "`bfcl evaluate` lays them out (BFCL tasks only; DIR accumulates models as BFCL's does)")
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
    add_backend_args(p)
    p.set_defaults(func=run_eval)


class _FirstDeclaration:
    """An argument group that skips a flag an earlier backend already added (--dtype: hf and vllm)."""

    def __init__(self, group: ArgGroup, seen: set[str]) -> None:
        self.group, self.seen = group, seen

    def add_argument(self, *names: str, **kwargs: Any) -> Any:
        if names[0] in self.seen:
            return None
        self.seen.update(names)
        return self.group.add_argument(*names, **kwargs)


def add_backend_args(parser: argparse.ArgumentParser) -> None:
    """One group per backend with the flags it declares; the CLI itself knows none of them."""
    from harness.backends import BACKENDS, backend_class

    seen: set[str] = set()
    for name in BACKENDS.names():
        backend_class(name).add_args(_FirstDeclaration(parser.add_argument_group(f"{name} backend options"), seen))


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"


def check_args(args: argparse.Namespace) -> None:
    """Refuse flag values that would crash a backend or write a misleading summary, before anything loads.

    NaN and infinity are refused wherever a number is expected: NaN compares false with every bound,
    and summary.json (strict JSON) cannot hold either. Every backend checks its own flags, whichever
    backend runs: a bad value is a mistake even where it goes unused.
    """
    from harness.backends import BACKENDS, backend_class, passthrough

    passthrough.resolve(args, backend_class(args.backend))  # before the numbers: it may set --temperature etc.
    check_positive(args, "batch_size", "max_new_tokens", "repeats")
    parse_limit(args.limit)
    if not (math.isfinite(args.temperature) and args.temperature >= 0):
        raise UserError(f"--temperature must be a finite number >= 0 (0 = greedy), got {args.temperature}")
    if not (math.isfinite(args.top_p) and 0 < args.top_p <= 1):
        raise UserError(f"--top-p must be in (0, 1], got {args.top_p}")
    for name in BACKENDS.names():
        backend_class(name).check_args(args)
    if args.run_name is not None:
        check_run_name(args.run_name)
    if args.force and not args.resume:
        raise UserError("--force only applies to --resume (continue a run whose settings differ)")
    if args.summarize_only and args.overwrite:
        raise UserError("--summarize-only reads the run's samples; it cannot be combined with --overwrite")
    if getattr(args, "bfcl_layout", None):
        from harness.bfcl.layout_write import check_layout_dir

        check_layout_dir(args.bfcl_layout)


def parse_eval_args(argv: list[str]) -> argparse.Namespace:
    """`rest eval ARGV` parsed and checked as the command does, without running it (the checkpoint callback
    builds its backend from these); a refusal is a UserError."""
    from harness.cli import build_parser
    from harness.cli.eval_config import apply_config

    try:
        args = build_parser().parse_args(["eval", *argv])
    except SystemExit:  # argparse has printed why
        raise UserError(f"`rest eval {' '.join(argv)}` is refused") from None
    apply_config(args)
    check_args(args)
    return args


def check_run_name(name: str) -> None:
    """A run name is one folder inside --output-dir: no separators, no `..`, nothing absolute."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise UserError(f"--run-name {name!r} must be a plain folder name inside --output-dir "
                        "(no '/', '\\' or '..')")


def run_eval(args: argparse.Namespace) -> int:
    from harness import backends
    from harness import tasks as registry
    from harness.cli.eval_config import apply_config, resolved_settings
    from harness.data import preflight as task_data

    apply_config(args)
    if args.list_tasks:
        names = registry.known_tasks()
        width = max(len(n) for n in names)
        formats = {n: "|".join(registry.formats_of(n)) for n in names}
        head = "--format (default first)"
        fwidth = max(len(head), *(len(f) for f in formats.values()))
        print(f"{'task':<{width}}  {head:<{fwidth}}  protocol")
        for name in names:
            print(f"{name:<{width}}  {formats[name]:<{fwidth}}  {registry.describe(name)}")
        for group, members in registry.known_groups().items():
            print(f"{group:<{width}}  (group: {len(members)} tasks)")
        return 0
    chosen = backends.backend_class(args.backend)
    check_args(args)
    # every task's data is found (or fetched, or skipped) and its format checked before any model loads
    loaded = task_data.prepare(registry.expand(args.tasks), fetch=not args.no_fetch, skip_missing=args.skip_missing_data)
    task_names = list(loaded)
    for name, item in loaded.items():
        task = item.task
        if args.format != "auto" and args.format not in task.formats:
            raise UserError(f"task {name} does not support --format {args.format} (supported: {', '.join(task.formats)})")
    ids = parse_ids(args.ids) if args.ids is not None else None
    if ids is not None:
        missing = unmatched(ids, {n: [s.id for s in item.samples] for n, item in loaded.items()})
        if missing:
            raise UserError(f"--ids: {len(missing)} id(s) name no item of {', '.join(task_names)}: "
                            f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    repeats = args.repeats
    if repeats > 1 and args.temperature == 0:
        print(f"rest: greedy decoding (--temperature 0) is deterministic: --repeats {repeats} would repeat the same "
              "text, so one sample per item is taken; give --temperature > 0 to sample")
        repeats = 1

    from harness.backends.passthrough import gen_params
    from harness.report import print_summary
    from harness.runner import RunConfig, open_run, run

    if not args.summarize_only:
        chosen.check_machine(args)
    backend = None
    if chosen.names_model(args) and not args.summarize_only:
        backend = backends.make_backend(args.backend, args=args)  # no model to load: it names the served one
    served = backend.info().get("model") if backend is not None else None
    label = args.model or served or "SmolLM2-135M-Instruct (embedded)"
    short = Path(label).name if (args.model or served) else "SmolLM2-135M-Instruct"
    run_name = args.run_name or slug(f"{short}__{args.backend}__{args.format}")
    settings = resolved_settings(args)
    if args.summarize_only:  # the settings that generated the samples, not this command's
        from harness.rundir.store import RunStore

        settings = RunStore(Path(args.output_dir) / run_name).read_json("summary.json").get("settings") or {}
    cfg = RunConfig(
        tasks=task_names, out_dir=Path(args.output_dir) / run_name, fmt=args.format,
        limit=parse_limit(args.limit).to_json(), ids=ids, repeats=repeats,
        batch_size=chosen.run_batch_size(args), resume=args.resume, overwrite=args.overwrite, model_label=label,
        progress=not args.no_progress, force=args.force, requested=chosen.requested(args), loaded=loaded,
        backend_info={"backend": args.backend, "model_path": args.model, "dtype": args.dtype,
                      "summarized_from_samples": True} if args.summarize_only else None,
        gen=gen_params(args), settings=settings,
    )
    with open_run(cfg, generating=not args.summarize_only) as lock:  # checked and locked before the model loads
        if backend is None and not args.summarize_only:
            backend = backends.make_backend(args.backend, args=args)
        summary = run(backend, cfg, lock=lock)
    print_summary(summary, exclude_failed=args.exclude_failed)
    if args.bfcl_layout:
        if any(t.startswith("bfcl:") for t in summary.tasks):
            from harness.bfcl.layout_write import write_bfcl_layout

            write_bfcl_layout(cfg.out_dir, args.bfcl_layout)
            print(f"BFCL layout: {args.bfcl_layout}")
        else:
            print("--bfcl-layout: no BFCL task in this run; nothing written")
    for name, t in summary.tasks.items():
        if t.held < t.planned:
            print(f"partial: {name} holds {t.held} of {t.planned} items "
                  "(rerun the command with --resume to finish it)")
    print(f"run directory: {cfg.out_dir}")
    return 0
