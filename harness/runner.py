"""Drive tasks through a backend: render, generate, score, persist, summarise.

The runner is the only place that knows both tasks and backends; it stays
thin so every figure in a summary traces back to one line of samples/*.jsonl.
A task that needs several generate calls per sample (BFCL multi-turn) may
provide `run_batch(samples, fmt, backend, gen, on_progress) -> [(Completion, Scored | None)]`;
the runner then hands it the batch instead of calling `generate` once, and
`on_progress(text)` shows how far a long batch has come.

A run directory has one writer at a time (`open_run` locks it before any model
loads), and `--resume` continues it only with the settings its samples were made
with: run.json records them, and summary.json lists every setup that contributed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness import tasks as registry
from harness.backends.base import Backend, GenParams
from harness.provenance import prompt_hash, run_provenance, versions
from harness.reasoning import completion_scoring_text
from harness.records import RunSummary, SampleRecord, TaskResult
from harness.rundir.lock import RunLock
from harness.rundir.settings import GENERATION_KEYS, record_session, resume_differences
from harness.rundir.store import RunStore
from harness.selection import ids_for_task, parse_limit
from harness.summary import outcomes_of, run_aggregates, task_summary
from harness.types import UserError


@dataclass
class RunConfig:
    tasks: list[str]
    out_dir: Path
    fmt: str = "auto"
    limit: int | float | None = None  # items per task: a count, or a fraction in (0, 1]
    batch_size: int = 8
    gen: GenParams = field(default_factory=GenParams)
    resume: bool = False
    overwrite: bool = False
    model_label: str = ""
    progress: bool = True
    backend_info: dict[str, Any] | None = None  # what `summary.backend` says when run without a backend
    requested: dict[str, Any] = field(default_factory=dict)  # backend options as asked for (model, dtype...),
    #                                                          compared with the stored run's on --resume
    force: bool = False  # --resume --force: continue despite changed settings; summary.json lists each setup
    loaded: dict[str, Any] = field(default_factory=dict)  # task name -> task_data.LoadedTask read by a pre-flight
    ids: list[str] | None = None  # --ids: only these items (plain or `task/id`)
    repeats: int = 1  # --repeats: samples per item, seeds gen.seed + 0..repeats-1
    command: str = ""  # the command line recorded in summary.json (default: this process's)
    settings: dict[str, Any] = field(default_factory=dict)  # `rest eval`'s resolved flags: summary.json "settings"


def _summarized_backend(store: RunStore, cfg: RunConfig) -> dict[str, Any]:
    """Backend info for a summary written from stored samples: the generating run's, where it left one."""
    prior = store.read_json("summary.json").get("backend")
    if not isinstance(prior, dict) or not prior:
        return cfg.backend_info or {}
    return {**prior, "summarized_from_samples": True}


def held_tasks(store: RunStore) -> list[str]:
    """Tasks with stored samples, as named by the run's summary and run.json (else the sample file names)."""
    named = set(store.read_json("summary.json").get("tasks") or {})
    for session in store.sessions():
        named.update(t for t in session.get("tasks") or [] if isinstance(t, str))
    held = sorted(t for t in named if isinstance(t, str) and store.holds(t))
    if held:
        return held
    return sorted(p.name for p in store.samples_dir.glob("*.jsonl")) if store.samples_dir.is_dir() else []


def _check_writable(root: Path) -> None:
    """Create and remove a file in the run directory: the cheapest proof that results can be written there."""
    import tempfile

    try:
        with tempfile.NamedTemporaryFile(dir=root, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise UserError(f"cannot write to run directory {root}: {exc.strerror or exc}") from None


def open_run(cfg: RunConfig, generating: bool) -> RunLock:
    """Every check of the run directory that needs no model, then its lock, held until released.

    `rest eval` calls this before loading a model, so a run it would refuse costs no load. Refused:
    a directory another process holds; existing samples without --resume or --overwrite; --resume
    with settings other than the stored samples' (unless --force); --summarize-only of tasks the run
    holds no samples for (their empty summary would replace the real one).
    """
    store = RunStore(cfg.out_dir)
    if not generating and not store.exists():
        raise UserError(f"run directory {cfg.out_dir} has no samples to summarize")
    lock = RunLock(cfg.out_dir).acquire()
    try:
        if generating and store.exists() and not (cfg.resume or cfg.overwrite):
            raise UserError(f"run directory {cfg.out_dir} already has samples; pass --resume to continue it "
                            "or --overwrite to start again")
        store.prepare()
        _check_writable(cfg.out_dir)
        if not generating:
            missing = [t for t in cfg.tasks if not store.holds(t)]
            if missing:
                held = held_tasks(store)
                raise UserError(f"run directory {cfg.out_dir} holds no samples for {', '.join(missing)} "
                                f"(it holds: {', '.join(held) or 'none readable'}); --summarize-only summarizes "
                                "stored samples: pass --tasks " + ",".join(held))
        elif cfg.resume and not cfg.overwrite:
            diffs = resume_differences(store, cfg)
            if diffs and not cfg.force:
                raise UserError(f"--resume: the stored samples were made with other settings ({'; '.join(diffs)}); "
                                "rerun with the same settings, or add --force to continue and record both in "
                                "summary.json")
    except BaseException:
        lock.release()
        raise
    return lock


def _carried_tasks(store: RunStore, per_task: dict[str, TaskResult]) -> dict[str, TaskResult]:
    """Tasks of the previous summary.json that this invocation did not name but whose samples are still here.

    They are kept (merged), so `--resume --tasks B` or `--summarize-only --tasks B` on a run that also
    holds A still describes A: its entry was computed from samples nothing here touched.
    """
    prior = store.read_json("summary.json").get("tasks")
    out = {}
    for name, entry in (prior.items() if isinstance(prior, dict) else []):
        if name in per_task or not isinstance(entry, dict) or not store.holds(name):
            continue
        counts = [entry.get(k) for k in ("correct", "total", "failed", "planned")]
        if all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            out[name] = TaskResult.from_json(entry)
    return out


def run(backend: Backend | None, cfg: RunConfig, lock: RunLock | None = None) -> RunSummary:
    """Generate what is missing (all of it, or what --resume finds undone), score it, write summary.json.

    Without a backend nothing is generated: the summary covers the samples already stored (an
    interrupted run's), each task saying how many of its planned items it holds. `lock` is the one
    `open_run` returned to a caller that checked the directory before loading its model; without
    it the run directory is checked and locked here.
    """
    own = lock is None
    if own:
        lock = open_run(cfg, generating=backend is not None)
    try:
        return _run(backend, cfg)
    finally:
        if own:
            lock.release()


@dataclass
class TaskPlan:
    """One task of a run: its items after --ids/--limit, and the (repeat, item) samples still to generate."""

    task: Any
    fmt: str
    samples: list[Any]
    available: int
    todo: list[tuple[int, Any]] = field(default_factory=list)


def select_samples(name: str, samples: list[Any], cfg: RunConfig) -> list[Any]:
    """The items of task `name` this run covers: those `--ids` names (in task order), then `--limit`."""
    if cfg.ids is not None:
        wanted = set(ids_for_task(cfg.ids, name, [s.id for s in samples]))
        samples = [s for s in samples if s.id in wanted]
    return samples[: parse_limit(cfg.limit).of(len(samples))]


def _plan(name: str, cfg: RunConfig, store: RunStore, generating: bool) -> TaskPlan:
    loaded = cfg.loaded.get(name)  # read by the CLI's pre-flight: not read again
    task = loaded.task if loaded else registry.get(name)
    every = loaded.samples if loaded else task.samples()
    plan = TaskPlan(task, registry.task_format(task, cfg.fmt), select_samples(name, every, cfg), len(every))
    done = {(r.id, r.repeat): r for r in store.load_records(task.name) if not r.failed}
    if cfg.resume:
        store.rewrite(task.name, list(done.values()))  # drop failed samples: they are retried
    if generating:
        plan.todo = [(k, s) for k in range(cfg.repeats) for s in plan.samples if (s.id, k) not in done]
    return plan


def _generate(plan: TaskPlan, backend: Backend, cfg: RunConfig, store: RunStore, bar: Any,
              timings: dict[str, float]) -> None:
    """Generate, score and store the plan's missing samples, batch by batch (one repeat per batch: one seed)."""
    task, fmt = plan.task, plan.fmt
    known_prompts = store.stored_prompt_hashes(task.name)
    for i in range(0, len(plan.todo), cfg.batch_size):
        chunk = plan.todo[i: i + cfg.batch_size]
        for k in sorted({k for k, _ in chunk}):
            batch = [s for r, s in chunk if r == k]
            gen = replace(cfg.gen, seed=cfg.gen.seed + k)
            settings = {key: getattr(gen, key) for key in GENERATION_KEYS}
            t0 = time.perf_counter()
            run_batch = getattr(task, "run_batch", None)
            if run_batch is not None:  # multi-step tasks drive the backend themselves
                t1 = t0
                pairs = run_batch(batch, fmt, backend, gen, on_progress=bar.note)
                t2 = time.perf_counter()
                records = [SampleRecord.of(s, fmt, c, scored, k, None, settings)
                           for s, (c, scored) in zip(batch, pairs, strict=True)]
            else:
                prompts = [task.prompt(s, fmt) for s in batch]
                hashes = [prompt_hash(p.messages, p.tools) for p in prompts]
                new = {h: p for h, p in zip(hashes, prompts, strict=True) if h not in known_prompts}
                store.append_prompts(task.name, [{"hash": h, "messages": p.messages, "tools": p.tools}
                                                 for h, p in new.items()])
                known_prompts.update(new)
                t1 = time.perf_counter()
                completions = backend.generate(prompts, gen)
                t2 = time.perf_counter()
                records = []
                for s, c, h in zip(batch, completions, hashes, strict=True):
                    text = completion_scoring_text(c, fmt)  # a thinking model's answer (harness/reasoning.py)
                    scored = None if c.error else task.score(s, text, fmt, tool_calls=c.tool_calls)
                    records.append(SampleRecord.of(s, fmt, c, scored, k, h, settings))
            store.append(task.name, records)
            t3 = time.perf_counter()
            timings["generate_s"] += t2 - t1
            timings["harness_s"] += (t1 - t0) + (t3 - t2)
            bar.advance(records)


def _summarize(plan: TaskPlan, store: RunStore, cfg: RunConfig) -> tuple[TaskResult, list[int]]:
    wanted = {s.id for s in plan.samples}
    recs = list({(r.id, r.repeat): r for r in store.load_records(plan.task.name)
                 if r.id in wanted and r.repeat < cfg.repeats}.values())  # one per item and repeat
    # planned: items this run covers (after --ids/--limit); available: the task's full size, so a board can
    # tell a subset from the benchmark
    result = task_summary(recs)
    result.format, result.planned, result.available = plan.fmt, len(plan.samples), plan.available
    writer = getattr(plan.task, "write_native_results", None)
    if writer is not None:
        writer([r.to_json() for r in recs if r.repeat == 0], cfg.out_dir, cfg.model_label)
    return result, outcomes_of(recs)


def _run(backend: Backend | None, cfg: RunConfig) -> RunSummary:
    store = RunStore(cfg.out_dir)
    if cfg.overwrite and store.exists():
        store.clear()
    store.prepare()
    sessions = record_session(store, cfg, backend) if backend is not None else store.sessions()
    plans = [_plan(name, cfg, store, backend is not None) for name in cfg.tasks]

    timings = {"generate_s": 0.0, "harness_s": 0.0}
    t_start = time.perf_counter()
    from harness.progress import Progress

    with Progress(sum(len(p.todo) for p in plans), enabled=cfg.progress) as bar:
        for plan in plans:
            if plan.todo:
                bar.start_task(plan.task.name)
                _generate(plan, backend, cfg, store, bar, timings)
    timings["wall_s"] = time.perf_counter() - t_start

    per_task: dict[str, TaskResult] = {}
    outcomes: dict[str, list[int]] = {}
    for plan in plans:
        per_task[plan.task.name], outcomes[plan.task.name] = _summarize(plan, store, cfg)
    for name, entry in _carried_tasks(store, per_task).items():
        per_task[name] = entry
        outcomes[name] = store.outcomes(name, entry.correct, entry.total + entry.failed)
    made_by = sessions[-1] if sessions else {}
    settings = made_by.get("settings") or {}
    gen = {k: settings.get(k, getattr(cfg.gen, k)) for k in GENERATION_KEYS} if backend is None else \
        {k: getattr(cfg.gen, k) for k in GENERATION_KEYS}
    summary = RunSummary(
        model=cfg.model_label if backend is not None else _summarized_model(store, made_by, cfg),
        backend=backend.info() if backend is not None else _summarized_backend(store, cfg),
        format=cfg.fmt if backend is not None else settings.get("format", cfg.fmt),
        limit=cfg.limit, generation=gen, tasks=per_task,
        aggregates=run_aggregates(per_task, outcomes, cfg.repeats),
        complete=all(t.held == t.planned for t in per_task.values()),
        timings={k: round(v, 3) for k, v in timings.items()},
        versions=versions(), finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        tasks_carried_over=sorted(n for n in per_task if n not in {p.task.name for p in plans}) or None,
        settings_history=[{k: s[k] for k in ("settings", "backend", "started_at", "forced") if k in s}
                          for s in sessions] if len(sessions) > 1 else None,  # --resume --force: several setups
        provenance=run_provenance(cfg, backend, plans) if backend is not None else
        store.read_json("summary.json").get("provenance") or {},
        repeats=cfg.repeats, extra={"settings": cfg.settings} if cfg.settings else {},
    )
    store.write_json("summary.json", summary.to_json())
    return summary



def _summarized_model(store: RunStore, made_by: dict[str, Any], cfg: RunConfig) -> str:
    """The model a summary written from stored samples names: the one that generated them, where known."""
    label = made_by.get("model_label") or store.read_json("summary.json").get("model")
    return label if isinstance(label, str) and label else cfg.model_label
