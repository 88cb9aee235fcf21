"""Score every saved checkpoint with the same harness code as `rest eval`.

On each save the checkpoint is evaluated on the configured tasks, the summary
lands in `checkpoint-N/eval/summary.json` (the `rest eval` schema), `eval/<task>`
accuracies go to W&B (if a run is active) and to OUTPUT_DIR/metrics.jsonl (a
record with the checkpoint's step), and OUTPUT_DIR/leaderboard/ is rebuilt with
the checkpoint as a row. A failed evaluation is recorded (`eval_error` line) and
never stops training. Modes:

- `inprocess`: the backend built from the checkpoint dir, in this process;
- `subprocess`: a `rest eval` child process (gives its memory back on exit),
  waited for;
- `background`: the same child process, not waited for. With several
  processes (DDP, DeepSpeed, FSDP) rank 0 must not evaluate synchronously: the
  other ranks would wait in the next collective until NCCL times out. So the
  child is started and training goes on; finished evaluations are collected at
  the next step end or log event, and the rest are waited for at train end.
- `auto` (the default): `background` when the run has more than one process,
  else `inprocess`; a synchronous mode asked for with several processes is
  switched to `background` too. One line says so.

Every mode builds the backend from the same `rest eval` flags (`eval_argv`): the
child process parses them, in-process evaluation parses them and hands them to
the backend's `from_args`, so the callback knows no backend's options.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from harness.cli.eval import parse_eval_args
from harness.types import UserError
from trainer.eval_record import record_evaluation

MODES = ("auto", "inprocess", "subprocess", "background")


def resolve_mode(mode: str, world_size: int) -> tuple[str, str | None]:
    """(mode to run, line to print or None): evaluation never blocks the other ranks of a multi-process run."""
    if world_size > 1 and mode != "background":
        why = "" if mode == "auto" else f" (eval.mode {mode} would hold the other ranks at the next collective)"
        return "background", (f"[eval] {world_size} processes: checkpoints are evaluated by background `rest eval` "
                               f"processes while training goes on{why}")
    return ("inprocess" if mode == "auto" else mode), None


@dataclass
class _Pending:
    """A background `rest eval` of one checkpoint."""

    step: int
    ckpt: Path
    proc: subprocess.Popen
    log: Any
    t0: float


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
    mode: auto, inprocess, subprocess or background (module docstring).
    fmt: the prompt format (`rest eval --format`; the paper scores BFCL in ToolRL's format).
    batch_size: `rest eval --batch-size`: "auto" (the default, what `rest eval` does) or a number.
    settings: the backend's `rest eval` flags by destination (device, dtype, threads, adapter, kv_budget_mb...),
    checked here as `rest eval` checks them.
    """

    def __init__(self, tasks: list[str] | str, limit: int | None = None, mode: str = "auto", *,
                 fmt: str = "auto", max_new_tokens: int = 256, batch_size: int | str = "auto", backend: str = "hf",
                 leaderboard: bool = True, n_boot: int = 200, timeout_s: float | None = None,
                 **settings: Any) -> None:
        from harness import tasks as registry

        if mode not in MODES:
            raise UserError(f"eval mode must be one of {', '.join(MODES)}, got {mode!r}")
        if limit is not None and limit <= 0:
            raise UserError("eval limit must be a positive integer or None")
        spec = ",".join(tasks) if isinstance(tasks, (list, tuple)) else str(tasks)
        self.tasks = registry.expand(spec)
        self.limit, self.mode, self.fmt = limit, mode, fmt
        self.max_new_tokens, self.batch_size, self.backend = max_new_tokens, batch_size, backend
        self.leaderboard, self.n_boot, self.timeout_s = leaderboard, n_boot, timeout_s
        self.settings = settings
        parse_eval_args(self.eval_argv(Path("checkpoint")))  # unknown or bad settings fail now, not at a save
        self.history: list[dict[str, Any]] = []  # one metrics record per evaluated checkpoint
        self.pending: list[_Pending] = []  # background evaluations not collected yet
        self._resolved = False

    # -- evaluation ---------------------------------------------------------------------------------
    def _eval_inprocess(self, ckpt: Path) -> dict[str, Any]:
        from harness.backends import backend_class, make_backend
        from harness.backends.base import GenParams
        from harness.runner import RunConfig, run

        args = parse_eval_args(self.eval_argv(ckpt))
        with _RngGuard():
            backend = make_backend(self.backend, args=args)
            try:
                batch = backend_class(self.backend).run_batch_size(args)  # `auto` resolved as `rest eval` does
                cfg = RunConfig(tasks=self.tasks, out_dir=ckpt / "eval", fmt=self.fmt, limit=self.limit,
                                batch_size=batch, overwrite=True, model_label=str(ckpt), progress=False,
                                gen=GenParams(max_new_tokens=self.max_new_tokens))
                return run(backend, cfg).to_json()
            finally:
                del backend
                gc.collect()
                try:
                    import torch

                    if torch.cuda.is_available():
                        torch.cuda.empty_cache()
                except ImportError:
                    pass

    def eval_argv(self, ckpt: Path) -> list[str]:
        """The `rest eval` flags that evaluate `ckpt` into ckpt/eval, in every mode."""
        from harness.backends import settings_argv

        argv = ["--model", str(ckpt), "--backend", self.backend, "--tasks", ",".join(self.tasks), "--format", self.fmt,
                "--output-dir", str(ckpt), "--run-name", "eval", "--overwrite", "--no-progress",
                "--batch-size", str(self.batch_size), "--max-new-tokens", str(self.max_new_tokens)]
        if self.limit is not None:
            argv += ["--limit", str(self.limit)]
        return argv + settings_argv(self.backend, self.settings)

    def subprocess_command(self, ckpt: Path) -> list[str]:
        return [sys.executable, "-m", "harness.cli", "eval", *self.eval_argv(ckpt)]

    def _eval_subprocess(self, ckpt: Path) -> dict[str, Any]:
        proc = subprocess.run(self.subprocess_command(ckpt), capture_output=True, text=True, timeout=self.timeout_s,
                              env=_child_env())
        (ckpt / "eval").mkdir(parents=True, exist_ok=True)
        (ckpt / "eval" / "eval.log").write_text(proc.stdout + proc.stderr)
        return _read_summary(ckpt, proc.returncode, proc.stderr)

    def evaluate(self, ckpt: Path) -> dict[str, Any]:
        """Run the configured evaluation on one checkpoint dir, waiting for it; returns its summary (also on disk)."""
        return self._eval_inprocess(ckpt) if self.mode == "inprocess" else self._eval_subprocess(ckpt)

    # -- background mode ----------------------------------------------------------------------------
    def start_background(self, output_dir: Path, step: int, processing_class: Any = None) -> None:
        """Start `rest eval` on OUTPUT_DIR/checkpoint-STEP and return at once; `collect` records it later."""
        ckpt = output_dir / f"checkpoint-{step}"
        t0 = time.perf_counter()
        try:
            if not ckpt.is_dir():
                raise FileNotFoundError(f"checkpoint directory {ckpt} was not written")
            _ensure_tokenizer(ckpt, processing_class)
            (ckpt / "eval").mkdir(parents=True, exist_ok=True)
            log = open(ckpt / "eval" / "eval.log", "w")  # noqa: SIM115  # closed in collect()
            proc = subprocess.Popen(self.subprocess_command(ckpt), stdout=log, stderr=subprocess.STDOUT, env=_child_env())
        except Exception as exc:
            self._record(output_dir, step, ckpt, None, exc, t0)
            return
        self.pending.append(_Pending(step, ckpt, proc, log, t0))

    def collect(self, output_dir: Path, wait: bool = False) -> list[dict[str, Any]]:
        """Record the background evaluations that have finished (all of them with `wait`); never raises."""
        done = []
        for p in list(self.pending):
            if p.proc.poll() is None:
                elapsed = time.perf_counter() - p.t0
                if not wait and (self.timeout_s is None or elapsed < self.timeout_s):
                    continue
                try:
                    p.proc.wait(timeout=None if self.timeout_s is None else max(0.0, self.timeout_s - elapsed))
                except subprocess.TimeoutExpired:
                    p.proc.kill()
                    p.proc.wait()
            self.pending.remove(p)
            p.log.close()
            summary, error = None, None
            try:
                summary = _read_summary(p.ckpt, p.proc.returncode, (p.ckpt / "eval" / "eval.log").read_text())
            except Exception as exc:
                error = exc
            done.append(self._record(output_dir, p.step, p.ckpt, summary, error, p.t0))
        return done

    # -- Trainer hooks ------------------------------------------------------------------------------
    def _resolve(self, args: Any) -> None:
        if self._resolved:
            return
        self._resolved = True
        self.mode, note = resolve_mode(self.mode, int(getattr(args, "world_size", 1) or 1))
        if note and getattr(args, "process_index", 0) == 0:
            print(note)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._resolve(args)

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._resolve(args)
        if not getattr(state, "is_world_process_zero", True):
            return
        if self.mode == "background":
            self.start_background(Path(args.output_dir), int(state.global_step), kwargs.get("processing_class"))
        else:
            self.evaluate_checkpoint(Path(args.output_dir), int(state.global_step), kwargs.get("processing_class"))

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.pending and getattr(state, "is_world_process_zero", True):
            self.collect(Path(args.output_dir))

    on_log = on_step_end

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Wait for the evaluations still running; with several processes only after the final save
        (`finish`, called by trainer.run.train), since saving a sharded model is a collective of all ranks."""
        if not self.pending or not getattr(state, "is_world_process_zero", True):
            return
        if int(getattr(args, "world_size", 1) or 1) > 1:
            print(f"[eval] {len(self.pending)} checkpoint evaluation(s) still running; collected after the final save")
            return
        self.finish(Path(args.output_dir))

    def finish(self, output_dir: Path) -> list[dict[str, Any]]:
        """Wait for and record every background evaluation still running (no-op when none)."""
        if self.pending:
            print(f"[eval] waiting for {len(self.pending)} checkpoint evaluation(s) still running")
        return self.collect(Path(output_dir), wait=True)

    def evaluate_checkpoint(self, output_dir: Path, step: int, processing_class: Any = None) -> dict[str, Any]:
        """Evaluate OUTPUT_DIR/checkpoint-STEP now, record metrics, refresh the run's board; never raises."""
        ckpt = output_dir / f"checkpoint-{step}"
        t0 = time.perf_counter()
        summary, error = None, None
        try:
            if not ckpt.is_dir():
                raise FileNotFoundError(f"checkpoint directory {ckpt} was not written")
            _ensure_tokenizer(ckpt, processing_class)
            summary = self.evaluate(ckpt)
        except Exception as exc:  # a broken evaluation must not kill hours of training
            error = exc
        return self._record(output_dir, step, ckpt, summary, error, t0)

    def _record(self, output_dir: Path, step: int, ckpt: Path, summary: dict[str, Any] | None,
                error: BaseException | None, t0: float) -> dict[str, Any]:
        """Record one finished evaluation (trainer/eval_record.py) and keep its metrics in `history`."""
        record = record_evaluation(output_dir, step, ckpt, summary, error, t0,
                                   board_n_boot=self.n_boot if self.leaderboard else None)
        self.history.append(record)
        return record


def _child_env() -> dict[str, str]:
    """The `rest eval` child's environment: no tokenizer thread pools, no torch.distributed variables of the
    training ranks (the child is a single process of its own)."""
    dist = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "GROUP_RANK")
    return {**{k: v for k, v in os.environ.items() if k not in dist}, "TOKENIZERS_PARALLELISM": "false"}


def _read_summary(ckpt: Path, returncode: int, output: str) -> dict[str, Any]:
    if returncode != 0:
        tail = (output.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"rest eval exited with {returncode}: {tail}")
    return json.loads((ckpt / "eval" / "summary.json").read_text())


def _ensure_tokenizer(ckpt: Path, processing_class: Any) -> None:
    """Make the checkpoint self-contained for `rest eval`: save the tokenizer if the Trainer did not."""
    has_tok = (ckpt / "tokenizer_config.json").is_file()
    if not has_tok and processing_class is not None and hasattr(processing_class, "save_pretrained"):
        processing_class.save_pretrained(str(ckpt))
