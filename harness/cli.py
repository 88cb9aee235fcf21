"""`rest` command line: a thin dispatcher over subcommand modules.

Each subcommand lives in its own module exposing `add_parser(subparsers)`;
the module sets `func` on its parser. Errors that are the user's fault
(`UserError`) print one line and exit 2. A full disk or a file-size limit
met by any write is one line too (exit 1): the machine, not the code, is at
fault. Nothing else is swallowed.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys

from harness.types import UserError

# Disk full, file too large (ulimit -f), quota exceeded: any write can meet them.
NO_ROOM = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
# What Ctrl-C leaves behind, by command: only these two can continue where they stopped.
INTERRUPTED = {
    "eval": "completed samples are saved; rerun with --resume",
    "train": "rerun with --resume to continue from the last saved checkpoint",
}

# (module, attribute) pairs; imported lazily so `rest --help` stays fast.
SUBCOMMANDS = [
    "harness.cli_eval",
    "harness.cli_score",
    "harness.cli_data",
    "trainer.cli_train",
    "harness.cli_leaderboard",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rest",
        description="ResT Harness: evaluate tool-using LLMs on BFCL and API-Bank, train them with ResT, publish leaderboards.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):  # subcommand not built yet
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
