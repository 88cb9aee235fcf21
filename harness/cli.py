"""`rest` command line: a thin dispatcher over subcommand modules.

Each subcommand lives in its own module exposing `add_parser(subparsers)`;
the module sets `func` on its parser. Errors that are the user's fault
(`UserError`) print one line and exit 2; nothing else is swallowed.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from harness.types import UserError

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
        print("rest: interrupted (completed samples are saved; rerun with --resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
