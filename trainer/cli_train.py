"""`rest train`: GRPO / ResT training from a preset or YAML config.

The config is loaded and validated (one-line errors) before torch, TRL or the
model are imported, so mistakes are cheap. The run directory gets the resolved
config.yaml, metrics.jsonl, checkpoint-N/ folders (model + tokenizer, loadable
by `rest eval --model DIR/checkpoint-N`) and the final model.
"""

from __future__ import annotations

import argparse
import sys

from trainer.config import PRESETS, dump_config, load_config

EPILOG = """examples:
  rest train --config cpu-smoke                        # a few ResT steps of the embedded SmolLM2 on CPU
  rest train --config rest --set model=Qwen/Qwen3-1.7B --set data.train=data/rlla_4k/train.parquet
  rest train --config trainer/configs/grpo.yaml --set grpo.learning_rate=2e-6 --max-steps 50
  rest train --config rest --set weights.entropy_ema=0.8 --dry-run   # print the resolved config, load nothing
  rest train --resume runs/rest                        # continue an interrupted run from its last checkpoint
  accelerate launch -m harness.cli train --config rest-paper --set model=Qwen/Qwen2.5-3B-Instruct   # the paper's shape
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train",
        help="train a model with GRPO or ResT (token-level reweighted GRPO) on ToolRL-format data",
        description="Train a model with GRPO or ResT on ToolRL-format data, using TRL's GRPOTrainer.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--config",
        metavar="FILE.yaml|PRESET",
        help=f"a YAML config file or a preset name ({', '.join(PRESETS)}); files may start from another with `base: NAME`. "
        "Optional with --resume DIR (the run's own DIR/config.yaml is used)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config value, dotted keys, YAML-typed value (repeatable), e.g. --set grpo.max_steps=10 "
        "--set weights.mode=code --set eval.tasks=bfcl:simple_python,apibank:level-1",
    )
    p.add_argument("--output-dir", metavar="DIR", help="run directory (config.yaml, metrics.jsonl, checkpoint-N/); overrides output_dir")
    p.add_argument("--max-steps", type=int, metavar="N", help="stop after N optimizer steps; overrides grpo.max_steps")
    p.add_argument("--resume", nargs="?", const=True, default=None, metavar="DIR",
                   help="continue from the last checkpoint-N of DIR (or of the config's output_dir) with optimizer, "
                   "scheduler, RNG, data position, rollout clock and entropy tracker restored; metrics.jsonl lines "
                   "after that checkpoint are dropped and logged again")
    p.add_argument("--dry-run", action="store_true", help="validate and print the resolved config, then exit without loading anything")
    p.set_defaults(func=run)
    return p


def _resume_args(args: argparse.Namespace) -> tuple[str, list[str], str | None]:
    """(config spec, overrides, output dir) with `--resume DIR` filled in from DIR/config.yaml."""
    from pathlib import Path

    from harness.types import UserError

    overrides = list(args.overrides)
    output_dir = args.output_dir
    spec = args.config
    if isinstance(args.resume, str):
        run_dir = Path(args.resume)
        if not run_dir.is_dir():
            raise UserError(f"--resume: {args.resume} is not a directory")
        output_dir = output_dir or str(run_dir)
        if spec is None:
            if not (run_dir / "config.yaml").is_file():
                raise UserError(f"--resume: {run_dir}/config.yaml not found; give --config too")
            spec = str(run_dir / "config.yaml")
    if spec is None:
        raise UserError("rest train: --config is required (or --resume DIR of an earlier run)")
    return spec, overrides, output_dir


def run(args: argparse.Namespace) -> int:
    from trainer.sft_config import maybe_run_sft  # configs with a top-level `method: sft|tsft|rsft`

    spec, overrides, output_dir = _resume_args(args)
    resume = args.resume is not None
    rc = maybe_run_sft(spec, overrides, output_dir, args.max_steps, args.dry_run, resume=resume)
    if rc is not None:
        return rc
    if output_dir:
        overrides.append(f"output_dir={output_dir}")
    if args.max_steps is not None:
        overrides.append(f"grpo.max_steps={args.max_steps}")
    cfg = load_config(spec, overrides)
    if args.dry_run:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            dump_config(cfg, Path(tmp) / "config.yaml")
            sys.stdout.write((Path(tmp) / "config.yaml").read_text())
        return 0
    from trainer.run import train  # heavy imports only once the config is known to be good

    train(cfg, resume=resume)
    print(f"rest train: done; model, checkpoints and metrics.jsonl in {cfg.output_dir}")
    return 0
