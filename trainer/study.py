"""The train-then-evaluate study: a warm start, RL arms over seeds, held-out evals, one board.

    python -m trainer.study --work runs/cpu-study --out leaderboards/cpu-study [--commit]

Stages, each skipped when its output is complete and resumed when it was
interrupted (so the study can be stopped and restarted at any point, across
sittings, without losing finished work):

1. warm start: `rest train --config sft-smollm2` (checkpoints every 8 steps);
2. held-out eval of the warm start (`rest eval --tasks toolrl:test`, greedy,
   fp32 for item-level reproducibility), and API-Bank Level-1 (first 100);
3. for every seed, for every arm: `rest train --config ARM` from the warm
   start with the study's RL settings (same prompts in the same order for
   every arm of a seed), then its held-out eval;
4. API-Bank Level-1 for the best final checkpoint of each arm;
5. the report: study.json, board (md/csv/json/html), plots, README figures
   (trainer/study_report.py), rebuilt after every stage; with `--commit` the
   board folder is committed after every stage, so results land as they come.

Two folders: WORK holds models, checkpoints and raw eval samples (large, not
committed, lost with a fresh checkout); the board folder OUT holds everything
the report is built from (per-item verdicts in items/, each run's metrics in
curves/ and runs/, stages.jsonl with wall times, settings.json,
warm_start.json). A stage is done when its record is in OUT, so a new
checkout of the repository continues the study where the last one stopped:
it retrains the warm start only if some stage still needs it, and refuses to
go on if the retrained weights differ from the recorded hash (the paired
comparisons assume one warm start).

Settings are frozen in OUT/settings.json at the first start; a restart with
different settings is refused (one line) instead of mixing two studies.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.types import UserError
from trainer.study_report import run_name

TOOLRL_TASK = "toolrl:test"
APIBANK_TASK = "apibank:level-1"


@dataclass(frozen=True)
class StudySettings:
    """Everything that defines the study's numbers (frozen in settings.json)."""

    arms: tuple[str, ...] = ("grpo", "rest")
    seeds: tuple[int, ...] = (1, 2, 3)
    rl_data: str = "toolrl:sft"  # ToolRL's 4k RL split is not downloadable here; the SFT file's rows, test items dropped
    max_prompt_length: int = 700
    max_completion_length: int = 256
    prompts_per_step: int = 2
    num_generations: int = 4
    max_steps: int = 20
    learning_rate: float = 2e-5
    temperature: float = 1.0
    bf16: bool = False  # fp32: measured faster than bf16 autocast here for SFT (2 steps: 63 s vs 95 s) and deterministic
    save_steps: int = 5
    eval_max_new_tokens: int = 256
    eval_batch_size: int = 16
    apibank_limit: int = 100
    extra_rl: tuple[str, ...] = field(default_factory=tuple)  # more `--set` overrides for every RL run

    def rl_overrides(self, model: str, seed: int) -> list[str]:
        """The `--set` overrides of one RL run (identical for every arm of a seed)."""
        batch = self.prompts_per_step * self.num_generations
        return [
            f"model={model}", f"data.train={self.rl_data}", f"grpo.max_prompt_length={self.max_prompt_length}",
            f"grpo.max_completion_length={self.max_completion_length}", f"grpo.num_generations={self.num_generations}",
            f"grpo.per_device_train_batch_size={batch}", "grpo.gradient_accumulation_steps=1",
            f"grpo.max_steps={self.max_steps}", f"grpo.learning_rate={self.learning_rate}",
            f"grpo.temperature={self.temperature}", f"grpo.bf16={str(self.bf16).lower()}", "grpo.use_cpu=true",
            f"grpo.save_steps={self.save_steps}", "grpo.save_total_limit=1", "grpo.logging_steps=1",
            f"grpo.seed={seed}", "grpo.use_vllm=false", *self.extra_rl,
        ]


# ---------------------------------------------------------------- stage bookkeeping


def _children_cpu_s() -> float:
    """CPU seconds (user + system) of every finished child process so far: a stage's CPU time is the difference."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


class Study:
    """Paths, the stage log and the subprocess runner of one study directory."""

    def __init__(self, work: Path, out: Path, settings: StudySettings, commit: bool = False, dry_run: bool = False):
        self.work, self.out, self.s, self.commit, self.dry_run = work, out, settings, commit, dry_run
        self.warm = work / "warm-start"
        self.evals = work / "evals"
        self.runs = work / "runs"
        self.stage_log = out / "stages.jsonl"

    # -- settings
    def freeze_settings(self, force: bool = False) -> None:
        path = self.out / "settings.json"
        mine = _settings_json(self.s)
        if path.is_file() and not force:
            theirs = json.loads(path.read_text())
            if theirs != mine:
                diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
                raise UserError(f"{path} was written with other settings ({', '.join(diff)}); resume with the same "
                                "flags, or use a new --work directory (--force-settings to override)")
        self.out.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(mine, indent=2) + "\n")

    # -- running
    def rest(self, args: list[str], stage: str, log_name: str) -> None:
        cmd = [sys.executable, "-m", "harness.cli", *args]
        printable = "rest " + " ".join(args)
        print(f"[study] {stage}: {printable}", flush=True)
        if self.dry_run:
            return
        log = self.work / "logs" / f"{log_name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        load0 = os.getloadavg()[0]
        t0 = time.time()
        cpu0 = _children_cpu_s()
        with log.open("a") as fh:
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT,
                                  env={**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": os.environ.get("WANDB_MODE", "offline"),
                                       "TOKENIZERS_PARALLELISM": "false"})
        wall = time.time() - t0
        self.out.mkdir(parents=True, exist_ok=True)
        rec = {"stage": stage, "command": printable, "rc": proc.returncode, "wall_s": round(wall, 1),
               "cpu_s": round(_children_cpu_s() - cpu0, 1),
               "load_start": round(load0, 2), "load_end": round(os.getloadavg()[0], 2),
               "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        with self.stage_log.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        if proc.returncode != 0:
            tail = log.read_text().strip().splitlines()[-1:] or ["(no output)"]
            raise UserError(f"study stage {stage} failed (exit {proc.returncode}): {tail[0][:300]} (log: {log})")

    # -- stages
    def warm_start(self) -> None:
        """Train the warm start if WORK lacks it; its weights must match the hash recorded in OUT."""
        if not (self.warm / "train_stats.json").is_file():
            args = ["train", "--config", "sft-smollm2", "--output-dir", str(self.warm), "--set", "sft.save_steps=8",
                    "--set", "sft.save_total_limit=1"]
            if list(self.warm.glob("checkpoint-*")):
                args.append("--resume")
            self.rest(args, "warm-start", "warm-start")
        if self.dry_run:
            return
        digest = _sha256(self.warm / "model.safetensors")
        record = self.out / "warm_start.json"
        if record.is_file():
            want = json.loads(record.read_text())["sha256"]
            if want != digest:
                raise UserError(f"the warm start in {self.warm} (sha256 {digest[:12]}) differs from the one this study's "
                                f"runs started from ({want[:12]}, {record}); its paired comparisons need the same one")
            return
        stats = json.loads((self.warm / "train_stats.json").read_text())
        record.write_text(json.dumps({"sha256": digest, "train_stats": stats}, indent=2) + "\n")

    def eval_done(self, name: str) -> bool:
        return (self.out / "items" / f"{name}.csv").is_file()

    def evaluate(self, name: str, model: Path, task: str = TOOLRL_TASK, limit: int | None = None) -> None:
        """`rest eval` into WORK (resumed if interrupted), then its per-item verdicts into OUT/items/NAME.csv."""
        if self.eval_done(name):
            return
        args = ["eval", "--model", str(model), "--tasks", task, "--max-new-tokens", str(self.s.eval_max_new_tokens),
                "--batch-size", str(self.s.eval_batch_size), "--dtype", "float32", "--device", "cpu",
                "--output-dir", str(self.evals), "--run-name", name, "--no-progress", "--no-fetch"]
        if limit is not None:
            args += ["--limit", str(limit)]
        if (self.evals / name / "samples").is_dir():
            args.append("--resume")
        self.rest(args, f"eval {name}", f"eval-{name}")
        if self.dry_run:
            return
        from trainer.study_report import read_items, write_items

        items = read_items(self.evals / name, task)
        if not items:
            raise UserError(f"eval {name}: no scored {task} samples in {self.evals / name}")
        write_items(self.out / "items" / f"{name}.csv", items)

    def rl_run(self, arm: str, seed: int) -> Path:
        """Train one arm-seed from the warm start (resumed if interrupted); its record and metrics go to OUT."""
        name = run_name(arm, seed)
        out = self.runs / name
        if not (out / "train_stats.json").is_file():
            args = ["train", "--config", arm, "--output-dir", str(out)]
            for o in self.s.rl_overrides(str(self.warm), seed):
                args += ["--set", o]
            if list(out.glob("checkpoint-*")):
                args.append("--resume")
            self.rest(args, f"train {name}", f"train-{name}")
        if self.dry_run:
            return out
        (self.out / "runs").mkdir(parents=True, exist_ok=True)
        (self.out / "curves").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "metrics.jsonl", self.out / "curves" / f"{name}.jsonl")
        record = {"train_stats": json.loads((out / "train_stats.json").read_text()),
                  "config": (out / "config.yaml").read_text()}
        (self.out / "runs" / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
        return out

    # -- publishing
    def publish(self, message: str) -> None:
        from trainer.study_report import write_report

        if self.dry_run:
            return
        write_report(self.out, self.s)
        if self.commit:
            subprocess.run(["git", "add", str(self.out)], check=False)
            subprocess.run(["git", "commit", "-q", "-m", f"cpu-study: {message}", "--", str(self.out)], check=False)

    def pending(self) -> list[str]:
        """Evaluations not recorded in OUT yet (each needs the warm start or a run's model)."""
        names = ["warm-start", "warm-start-apibank"]
        for seed in self.s.seeds:
            for arm in self.s.arms:
                names += [run_name(arm, seed), f"{run_name(arm, seed)}-apibank"]
        return [n for n in names if not self.eval_done(n)]

    def run_all(self) -> None:
        if not self.pending():
            self.publish("report rebuilt")
            return
        self.warm_start()
        self.evaluate("warm-start", self.warm)
        self.evaluate("warm-start-apibank", self.warm, APIBANK_TASK, self.s.apibank_limit)
        self.publish("warm start evaluated")
        for seed in self.s.seeds:
            for arm in self.s.arms:
                name = run_name(arm, seed)
                if self.eval_done(name) and self.eval_done(f"{name}-apibank"):
                    continue
                out = self.rl_run(arm, seed)
                self.evaluate(name, out)
                self.publish(f"{name} trained and evaluated on {TOOLRL_TASK}")
                self.evaluate(f"{name}-apibank", out, APIBANK_TASK, self.s.apibank_limit)
                self.publish(f"{name} evaluated on {APIBANK_TASK}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _settings_json(s: StudySettings) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(s)))


def main(argv: list[str] | None = None) -> int:
    d = StudySettings()
    p = argparse.ArgumentParser(prog="python -m trainer.study", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", default="runs/cpu-study", help="where models, runs and eval samples go (large; not committed)")
    p.add_argument("--out", default="leaderboards/cpu-study", help="the published board folder (small; committed with --commit)")
    p.add_argument("--arms", default=",".join(d.arms), help="RL presets to compare, e.g. grpo,rest,rest-code")
    p.add_argument("--seeds", default=",".join(map(str, d.seeds)), help="training seeds, e.g. 1,2,3")
    p.add_argument("--max-steps", type=int, default=d.max_steps, help="rollouts (= optimizer steps here) per run")
    p.add_argument("--prompts-per-step", type=int, default=d.prompts_per_step, help="prompts per rollout")
    p.add_argument("--num-generations", type=int, default=d.num_generations, help="completions per prompt (group size)")
    p.add_argument("--max-completion-length", type=int, default=d.max_completion_length, help="training completion budget")
    p.add_argument("--max-prompt-length", type=int, default=d.max_prompt_length, help="drop longer RL prompts (tokens)")
    p.add_argument("--learning-rate", type=float, default=d.learning_rate)
    p.add_argument("--eval-max-new-tokens", type=int, default=d.eval_max_new_tokens, help="held-out generation budget")
    p.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE",
                   help="extra `rest train --set` override for every RL run (repeatable)")
    p.add_argument("--commit", action="store_true", help="git-commit the board folder after every finished stage")
    p.add_argument("--report-only", action="store_true", help="rebuild the board from what is finished; run nothing")
    p.add_argument("--dry-run", action="store_true", help="print the commands the study would run")
    p.add_argument("--force-settings", action="store_true", help="overwrite settings.json of an existing study")
    a = p.parse_args(argv)
    try:
        s = dataclasses.replace(
            d, arms=tuple(x for x in a.arms.split(",") if x), seeds=tuple(int(x) for x in a.seeds.split(",") if x),
            max_steps=a.max_steps, prompts_per_step=a.prompts_per_step, num_generations=a.num_generations,
            max_completion_length=a.max_completion_length, max_prompt_length=a.max_prompt_length,
            learning_rate=a.learning_rate, eval_max_new_tokens=a.eval_max_new_tokens, extra_rl=tuple(a.extra))
        study = Study(Path(a.work), Path(a.out), s, commit=a.commit, dry_run=a.dry_run)
        if a.report_only:
            from trainer.study_report import write_report

            write_report(study.out, s)
            return 0
        study.freeze_settings(force=a.force_settings)
        study.run_all()
    except ValueError as exc:
        print(f"study: error: {exc}", file=sys.stderr)
        return 2
    except UserError as exc:
        print(f"study: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
