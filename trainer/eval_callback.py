"""Score every saved checkpoint with the same harness code as `rest eval`.

On each save the checkpoint is evaluated on the configured tasks (in this
process with an HF backend built from the checkpoint dir, or in a `rest eval`
subprocess that gives its memory back on exit), the summary lands in
`checkpoint-N/eval/summary.json` (the `rest eval` schema), `eval/<task>`
accuracies go to W&B (if a run is active) and to OUTPUT_DIR/metrics.jsonl,
and OUTPUT_DIR/leaderboard/ is rebuilt with the checkpoint as a row. A failed
evaluation is recorded (`eval_error` line) and never stops training.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from harness.types import UserError

MODES = ("inprocess", "subprocess")
# backend kwargs that `rest eval` can take as flags (subprocess mode)
_CLI_FLAGS = {"device": "--device", "dtype": "--dtype", "threads": "--threads", "adapter": "--adapter"}


def metrics_from_summary(summary: dict[str, Any], prefix: str = "eval/") -> dict[str, float]:
    """Flat scalar metrics: `eval/<task>` accuracy per task, `eval/<benchmark>/overall` per aggregate."""
    out: dict[str, float] = {}
    for task, s in (summary.get("tasks") or {}).items():
        if s.get("accuracy") is not None:
            out[f"{prefix}{task}"] = float(s["accuracy"])
    for bench, agg in (summary.get("aggregates") or {}).items():
        overall = (agg or {}).get("overall") if isinstance(agg, dict) else None
        if isinstance(overall, dict):
            val = overall.get("accuracy", overall.get("value"))
            if isinstance(val, (int, float)):
                out[f"{prefix}{bench}/overall"] = float(val)
    return out


def append_metrics(path: Path, record: dict[str, Any]) -> None:
    """One JSON object per line with a "step" key (shared with trainer/metrics.py)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        fh.flush()


class _RngGuard:
    """Evaluation seeds torch for sampling; training must not notice, so its RNG state is restored."""

    def __enter__(self) -> _RngGuard:
        import random

        import torch

        self.py = random.getstate()
        self.cpu = torch.random.get_rng_state()
        self.cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
        return self

    def __exit__(self, *exc: object) -> None:
        import random

        import torch

        random.setstate(self.py)
        torch.random.set_rng_state(self.cpu)
        if self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)


class CheckpointEvalCallback(TrainerCallback):
    """Evaluate each checkpoint the Trainer saves; see the module docstring for what is written where.

    tasks: task names or groups (`rest eval --tasks`), checked when the callback is built.
    limit: first N samples per task (speed), None = all.
    mode: "inprocess" (HF backend in this process) or "subprocess" (`rest eval` child process).
    backend_kwargs: passed to the backend (device, dtype, threads, ...); in subprocess mode only
    those `rest eval` has flags for.
    """

    def __init__(self, tasks: list[str] | str, limit: int | None = None, mode: str = "inprocess", *,
                 fmt: str = "auto", max_new_tokens: int = 256, batch_size: int = 8, backend: str = "hf",
                 leaderboard: bool = True, n_boot: int = 200, timeout_s: float | None = None,
                 **backend_kwargs: Any) -> None:
        from harness import tasks as registry

        if mode not in MODES:
            raise UserError(f"eval mode must be one of {', '.join(MODES)}, got {mode!r}")
        if limit is not None and limit <= 0:
            raise UserError("eval limit must be a positive integer or None")
        spec = ",".join(tasks) if isinstance(tasks, (list, tuple)) else str(tasks)
        self.tasks = registry.expand(spec)
        if mode == "subprocess":
            unknown = sorted(set(backend_kwargs) - set(_CLI_FLAGS))
            if unknown:
                raise UserError(f"subprocess eval cannot pass backend options {', '.join(unknown)}; "
                                f"supported: {', '.join(_CLI_FLAGS)}")
        self.limit, self.mode, self.fmt = limit, mode, fmt
        self.max_new_tokens, self.batch_size, self.backend = max_new_tokens, batch_size, backend
        self.leaderboard, self.n_boot, self.timeout_s = leaderboard, n_boot, timeout_s
        self.backend_kwargs = backend_kwargs
        self.history: list[dict[str, Any]] = []  # one metrics record per evaluated checkpoint

    # -- evaluation ---------------------------------------------------------------------------------
    def _eval_inprocess(self, ckpt: Path) -> dict[str, Any]:
        from harness.backends import make_backend
        from harness.backends.base import GenParams
        from harness.runner import RunConfig, run

        kwargs = dict(self.backend_kwargs)
        if self.backend == "hf":
            kwargs.setdefault("batch_size", self.batch_size)
        with _RngGuard():
            backend = make_backend(self.backend, model=str(ckpt), **kwargs)
            try:
                cfg = RunConfig(tasks=self.tasks, out_dir=ckpt / "eval", fmt=self.fmt, limit=self.limit,
                                batch_size=self.batch_size, overwrite=True, model_label=str(ckpt), progress=False,
                                gen=GenParams(max_new_tokens=self.max_new_tokens))
                return run(backend, cfg)
            finally:
                del backend
                gc.collect()
                try:
                    import torch

                    if torch.cuda.is_available():
                        torch.cuda.empty_cache()
                except ImportError:
                    pass

    def subprocess_command(self, ckpt: Path) -> list[str]:
        cmd = [sys.executable, "-m", "harness.cli", "eval", "--model", str(ckpt), "--backend", self.backend,
               "--tasks", ",".join(self.tasks), "--format", self.fmt, "--output-dir", str(ckpt), "--run-name", "eval",
               "--overwrite", "--no-progress", "--batch-size", str(self.batch_size),
               "--max-new-tokens", str(self.max_new_tokens)]
        if self.limit is not None:
            cmd += ["--limit", str(self.limit)]
        for key, val in self.backend_kwargs.items():
            if val is not None:
                cmd += [_CLI_FLAGS[key], str(val)]
        return cmd

    def _eval_subprocess(self, ckpt: Path) -> dict[str, Any]:
        proc = subprocess.run(self.subprocess_command(ckpt), capture_output=True, text=True, timeout=self.timeout_s,
                              env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
        (ckpt / "eval").mkdir(parents=True, exist_ok=True)
        (ckpt / "eval" / "eval.log").write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise RuntimeError(f"rest eval exited with {proc.returncode}: {tail}")
        return json.loads((ckpt / "eval" / "summary.json").read_text())

    def evaluate(self, ckpt: Path) -> dict[str, Any]:
        """Run the configured evaluation on one checkpoint dir; returns its summary (also on disk)."""
        return self._eval_inprocess(ckpt) if self.mode == "inprocess" else self._eval_subprocess(ckpt)

    # -- Trainer hook -------------------------------------------------------------------------------
    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not getattr(state, "is_world_process_zero", True):
            return
        self.evaluate_checkpoint(Path(args.output_dir), int(state.global_step), kwargs.get("processing_class"))

    def evaluate_checkpoint(self, output_dir: Path, step: int, processing_class: Any = None) -> dict[str, Any]:
        """Evaluate OUTPUT_DIR/checkpoint-STEP, record metrics, refresh the run's board; never raises."""
        ckpt = output_dir / f"checkpoint-{step}"
        record: dict[str, Any] = {"step": step, "checkpoint": ckpt.name}
        t0 = time.perf_counter()
        try:
            if not ckpt.is_dir():
                raise FileNotFoundError(f"checkpoint directory {ckpt} was not written")
            _ensure_tokenizer(ckpt, processing_class)
            summary = self.evaluate(ckpt)
            record.update(metrics_from_summary(summary))
        except Exception as exc:  # a broken evaluation must not kill hours of training
            record["eval_error"] = f"{type(exc).__name__}: {exc}"[:500]
            try:
                (ckpt / "eval").mkdir(parents=True, exist_ok=True)
                (ckpt / "eval" / "error.txt").write_text(traceback.format_exc())
            except OSError:
                pass
            print(f"[eval] checkpoint-{step} evaluation failed: {record['eval_error']}", file=sys.stderr)
        record["eval_wall_s"] = round(time.perf_counter() - t0, 3)
        append_metrics(output_dir / "metrics.jsonl", record)
        _log_wandb(record)
        self.history.append(record)
        if self.leaderboard and "eval_error" not in record:
            try:
                from harness.leaderboard.build import build_board_files

                build_board_files([output_dir], output_dir / "leaderboard", name=output_dir.name, n_boot=self.n_boot)
            except Exception as exc:  # the board is a convenience; the summary is already on disk
                print(f"[eval] leaderboard update failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return record


def _ensure_tokenizer(ckpt: Path, processing_class: Any) -> None:
    """Make the checkpoint self-contained for `rest eval`: save the tokenizer if the Trainer did not."""
    has_tok = (ckpt / "tokenizer_config.json").is_file()
    if not has_tok and processing_class is not None and hasattr(processing_class, "save_pretrained"):
        processing_class.save_pretrained(str(ckpt))


def _log_wandb(record: dict[str, Any]) -> None:
    try:
        import wandb
    except ImportError:
        return
    if wandb.run is None:
        return
    payload: dict[str, Any] = {k: v for k, v in record.items() if k.startswith("eval/")}
    if "eval_error" in record:
        payload["eval/error"] = 1
    payload["train/global_step"] = record["step"]  # the step metric transformers' WandbCallback defines
    wandb.run.log(payload)
