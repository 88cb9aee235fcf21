"""Drive tasks through a backend: render, generate, score, persist, summarise.

The runner is the only place that knows both tasks and backends; it stays
thin so every figure in a summary traces back to one line of samples/*.jsonl.
A task that needs several generate calls per sample (BFCL multi-turn) may
provide `run_batch(samples, fmt, backend, gen, on_progress) -> [(Completion, Scored | None)]`;
the runner then hands it the batch instead of calling `generate` once, and
`on_progress(text)` shows how far a long batch has come.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import tasks as registry
from harness.backends.base import Backend, GenParams
from harness.runstore import RunStore
from harness.summary import benchmark_aggregates, outcomes_of, task_summary
from harness.types import UserError


@dataclass
class RunConfig:
    tasks: list[str]
    out_dir: Path
    fmt: str = "auto"
    limit: int | None = None
    batch_size: int = 8
    gen: GenParams = field(default_factory=GenParams)
    resume: bool = False
    overwrite: bool = False
    model_label: str = ""
    progress: bool = True
    backend_info: dict[str, Any] | None = None  # what `summary.backend` says when run without a backend


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("rest-harness", "torch", "transformers", "trl", "bfcl-eval"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def task_format(task: Any, fmt: str) -> str:
    if fmt == "auto":
        return task.formats[0]
    if fmt not in task.formats:
        raise UserError(f"task {task.name} does not support format {fmt!r} (supported: {', '.join(task.formats)})")
    return fmt


def record_for(sample, fmt: str, completion, scored) -> dict[str, Any]:
    verdict = scored.verdict if scored else None
    return {
        "id": sample.id,
        "task": sample.task,
        "format": fmt,
        "completion": completion.text,
        "tool_calls": completion.tool_calls,
        "decoded": scored.decoded if scored else None,
        "valid": bool(verdict.valid) if verdict else False,
        "error_type": verdict.error_type if verdict else None,
        "errors": verdict.errors[:5] if verdict else [],
        "detail": {k: v for k, v in (verdict.detail or {}).items() if k != "decoded"} if verdict else {},
        "backend_error": completion.error,
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "latency_s": round(completion.latency_s, 4),
    }


def _summarized_backend(store: RunStore, cfg: RunConfig) -> dict[str, Any]:
    """Backend info for a summary written from stored samples: the generating run's, where it left one."""
    prior: dict[str, Any] = {}
    try:
        prior = json.loads((store.root / "summary.json").read_text()).get("backend") or {}
    except (OSError, ValueError, AttributeError):
        pass
    if not prior:
        return cfg.backend_info or {}
    return {**prior, "summarized_from_samples": True}


def run(backend: Backend | None, cfg: RunConfig) -> dict[str, Any]:
    """Generate what is missing (all of it, or what --resume finds undone), score it, write summary.json.

    Without a backend nothing is generated: the summary covers the samples already stored (an
    interrupted run's), each task saying how many of its planned items it holds.
    """
    store = RunStore(cfg.out_dir)
    if backend is None:
        if not store.exists():
            raise UserError(f"run directory {cfg.out_dir} has no samples to summarize")
    elif store.exists() and not (cfg.resume or cfg.overwrite):
        raise UserError(f"run directory {cfg.out_dir} already has samples; pass --resume to continue it "
                        "or --overwrite to start again")
    if cfg.overwrite and store.exists():
        for p in store.samples_dir.glob("*.jsonl"):
            p.unlink()
    store.prepare()
    task_objs = [registry.get(name) for name in cfg.tasks]
    plan = []
    for task in task_objs:
        fmt = task_format(task, cfg.fmt)
        samples = task.samples()
        available = len(samples)
        if cfg.limit is not None:
            samples = samples[: cfg.limit]
        done = {r["id"]: r for r in store.load(task.name) if not r.get("backend_error")}
        if cfg.resume:
            store.rewrite(task.name, list(done.values()))  # drop failed samples: they are retried
        todo = [s for s in samples if s.id not in done] if backend is not None else []
        plan.append((task, fmt, samples, todo, available))

    timings = {"generate_s": 0.0, "harness_s": 0.0}
    t_start = time.perf_counter()
    from harness.progress import Progress

    total_todo = sum(len(p[3]) for p in plan)
    with Progress(total_todo, enabled=cfg.progress) as bar:
        for task, fmt, _samples, todo, _available in plan:
            if todo:
                bar.start_task(task.name)
            for i in range(0, len(todo), cfg.batch_size):
                batch = todo[i: i + cfg.batch_size]
                t0 = time.perf_counter()
                run_batch = getattr(task, "run_batch", None)
                if run_batch is not None:  # multi-step tasks drive the backend themselves
                    t1 = t0
                    pairs = run_batch(batch, fmt, backend, cfg.gen, on_progress=bar.note)
                    t2 = time.perf_counter()
                    records = [record_for(s, fmt, c, scored) for s, (c, scored) in zip(batch, pairs, strict=True)]
                else:
                    prompts = [task.prompt(s, fmt) for s in batch]
                    t1 = time.perf_counter()
                    completions = backend.generate(prompts, cfg.gen)
                    t2 = time.perf_counter()
                    records = []
                    for s, c in zip(batch, completions, strict=True):
                        scored = None if c.error else task.score(s, c.text, fmt, tool_calls=c.tool_calls)
                        records.append(record_for(s, fmt, c, scored))
                store.append(task.name, records)
                t3 = time.perf_counter()
                timings["generate_s"] += t2 - t1
                timings["harness_s"] += (t1 - t0) + (t3 - t2)
                bar.advance(records)
    timings["wall_s"] = time.perf_counter() - t_start

    per_task: dict[str, Any] = {}
    outcomes: dict[str, list[int]] = {}
    for task, fmt, samples, _, available in plan:
        wanted = {s.id for s in samples}
        recs = [r for r in store.load(task.name) if r["id"] in wanted]
        # planned: items this run covers (after --limit); available: the task's full size, so a board can
        # tell a subset from the benchmark
        per_task[task.name] = {**task_summary(recs), "format": fmt, "planned": len(samples), "available": available}
        outcomes[task.name] = outcomes_of(recs)
        writer = getattr(task, "write_native_results", None)
        if writer is not None:
            writer(recs, cfg.out_dir, cfg.model_label)
    summary = {
        "schema": "rest-harness/summary/v1",
        "model": cfg.model_label,
        "backend": backend.info() if backend is not None else _summarized_backend(store, cfg),
        "format": cfg.fmt,
        "limit": cfg.limit,
        "generation": {"max_new_tokens": cfg.gen.max_new_tokens, "temperature": cfg.gen.temperature,
                       "top_p": cfg.gen.top_p, "seed": cfg.gen.seed},
        "tasks": per_task,
        "aggregates": benchmark_aggregates(per_task, outcomes),
        "complete": all(t["total"] + t["failed"] == t["planned"] for t in per_task.values()),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "versions": versions(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    store.write_json("summary.json", summary)
    return summary
