"""The settings of a run directory (run.json) and how a `--resume` is checked against them.

Each generating session records what shapes the text (model, backend options,
format, sampling) and the backend's resolved setup; a resume with other
settings is refused unless forced, and then every setup is listed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from harness import tasks as registry
from harness.rundir.store import RunStore, parse_line
from harness.types import UserError

if TYPE_CHECKING:
    from harness.backends.base import Backend

RunConfig = Any  # harness.runner.RunConfig; named loosely so the run directory does not import the runner


GENERATION_KEYS = ("max_new_tokens", "temperature", "top_p", "seed")
RESOLVED_BACKEND_KEYS = ("backend", "model", "model_path", "adapter", "dtype", "gguf_file")  # as a loaded backend reports them


def recorded_sessions(store: RunStore) -> list[dict[str, Any]]:
    """The run's generating sessions: run.json's, else one read from an older run's summary.json, else none.

    Summaries written before run.json existed hold the generation settings and the resolved
    backend, but not the model as it was asked for; that is then not compared. A summary written
    from stored samples (--summarize-only) recorded the summarizing command's defaults, so it is not used.
    """
    sessions = store.sessions()
    if sessions:
        return sessions
    summary = store.read_json("summary.json")
    gen = summary.get("generation")
    backend = summary.get("backend")
    if not isinstance(gen, dict) or not isinstance(backend, dict) or backend.get("summarized_from_samples"):
        return []  # a summary written by --summarize-only before run.json held that command line's defaults
    settings = {k: gen[k] for k in GENERATION_KEYS if k in gen}
    return [{"settings": settings, "backend": backend, "model_label": summary.get("model"),
             "tasks": sorted(summary.get("tasks") or {}) if isinstance(summary.get("tasks"), dict) else [],
             "from": "summary.json"}]


def differences(old: dict[str, Any], new: dict[str, Any], keys: tuple[str, ...] | None = None) -> list[str]:
    """`name: old -> new` for every key both dicts hold (or only `keys`) whose values differ."""
    names = [k for k in (keys or tuple(old)) if k in old and k in new]
    return [f"{k} {old[k]!r} -> {new[k]!r}" for k in names if old[k] != new[k]]


def stored_format(store: RunStore, task: str) -> str | None:
    """The prompt format of the first readable stored sample of `task` (None when it holds none)."""
    path = store.path(task)
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as fh:
            for line in fh:
                rec, _ = parse_line(line.rstrip(b"\n"))
                if rec is not None:
                    return rec.get("format") if isinstance(rec.get("format"), str) else None
    except OSError:
        return None
    return None


def generation_settings(cfg: RunConfig) -> dict[str, Any]:
    """What shapes the generated text: model, backend options as asked for, format, sampling (compared on --resume)."""
    return {"model": cfg.model_label, **cfg.requested, "format": cfg.fmt,
            "max_new_tokens": cfg.gen.max_new_tokens, "temperature": cfg.gen.temperature,
            "top_p": cfg.gen.top_p, "seed": cfg.gen.seed}


def resume_differences(store: RunStore, cfg: RunConfig) -> list[str]:
    """How this invocation's settings differ from those the run's stored samples were made with.

    The format is compared per task as each task resolves it (`auto` is each task's default), against
    the stored samples themselves, so a run from before run.json existed is checked too. A run whose
    stored samples all failed (they are generated again) has nothing to mix with, and no differences.
    """
    if not store.holds_kept_samples():
        return []
    diffs = []
    sessions = recorded_sessions(store)
    if sessions:
        last = sessions[-1].get("settings") or {}
        diffs += differences({k: v for k, v in last.items() if k != "format"}, generation_settings(cfg))
    for name in cfg.tasks:
        stored = stored_format(store, name)
        wanted = registry.task_format(registry.get(name), cfg.fmt)
        if stored is not None and stored != wanted:
            diffs.append(f"format of {name} {stored!r} -> {wanted!r}")
    return diffs


def record_session(store: RunStore, cfg: RunConfig, backend: Backend) -> list[dict[str, Any]]:
    """Write this generating session into run.json (before anything is generated); return all sessions.

    Once the model has loaded, its resolved setup (dtype `auto` is bf16 on a GPU, fp32 on a CPU) is
    compared with the stored run's, as the requested settings were in `open_run`. A continuation
    with the same settings updates the last session; one forced past differences is appended.
    """
    info = backend.info()
    new = {"settings": generation_settings(cfg), "backend": info, "model_label": cfg.model_label,
           "tasks": list(cfg.tasks), "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    keeps = cfg.resume and not cfg.overwrite and store.holds_kept_samples()
    prior = recorded_sessions(store) if keeps else []
    if not prior:
        sessions = [new]
    else:
        diffs = differences(prior[-1].get("backend") or {}, info, RESOLVED_BACKEND_KEYS)
        if diffs and not cfg.force:
            raise UserError(f"--resume: the stored samples were made with another backend setup ({'; '.join(diffs)}); "
                            "rerun with the same settings, or add --force to continue and record both in summary.json")
        if cfg.force and (diffs or resume_differences(store, cfg)):
            sessions = [*prior, {**new, "forced": True}]
        else:
            last = prior[-1]
            tasks = sorted(set(last.get("tasks") or []) | set(cfg.tasks))
            sessions = [*prior[:-1], {**new, "tasks": tasks, "started_at": last.get("started_at", new["started_at"])}]
    store.record_sessions(sessions)
    return sessions
