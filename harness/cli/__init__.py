"""`rest` command line: a thin dispatcher over subcommand modules.

Each subcommand lives in its own module exposing `add_parser(subparsers)`
(harness/cli/eval.py, score.py, compare.py, data.py, leaderboard.py; `train` in
trainer/cli_train.py), registered by reference and imported when the parser is
built; none imports torch at module level, so `rest --help` stays fast. The
module sets `func` on its parser. Errors that are the user's fault
(`UserError`) print one line and exit 2. A full disk or a file-size limit
met by any write is one line too (exit 1): the machine, not the code, is at
fault. Nothing else is swallowed.
"""

from __future__ import annotations

import argparse
import errno
import sys
from collections.abc import Callable
from typing import Any

from harness.registry import Registry
from harness.types import UserError

# Disk full, file too large (ulimit -f), quota exceeded: any write can meet them.
NO_ROOM = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
# What Ctrl-C leaves behind, by command: only these two can continue where they stopped.
INTERRUPTED = {
    "eval": "completed samples are saved; rerun with --resume",
    "train": "rerun with --resume to continue from the last saved checkpoint",
}

# name -> "module:add_parser", in the order `rest --help` lists them
SUBCOMMANDS = {
    "eval": "harness.cli.eval:add_parser",
    "score": "harness.cli.score:add_parser",
    "compare": "harness.cli.compare:add_parser",
    "data": "harness.cli.data:add_parser",
    "train": "trainer.cli_train:add_parser",
    "leaderboard": "harness.cli.leaderboard:add_parser",
}
COMMANDS: Registry[Callable[[Any], Any]] = Registry("command")
for _name, _ref in SUBCOMMANDS.items():
    COMMANDS.register_lazy(_name, _ref)


def build_parser() -> argparse.ArgumentParser:
    """The `rest` parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="rest",
        description="ResT Harness: evaluate tool-using LLMs on BFCL and API-Bank, train them with ResT, publish leaderboards.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        COMMANDS.get(name)(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `rest ARGV`; returns the exit status (2: the user's mistake, one line on stderr)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"rest: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        left = INTERRUPTED.get(args.command)
        print("rest: interrupted" + (f" ({left})" if left else ""), file=sys.stderr)
        return 130
    except OSError as exc:
        if exc.errno not in NO_ROOM:
            raise
        where = f"cannot write {exc.filename}: " if exc.filename else ""
        print(f"rest: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
