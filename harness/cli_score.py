"""`rest score`: score result files written by other tools (BFCL's `bfcl generate`, API-Bank scripts)."""

from __future__ import annotations

import argparse
import importlib

SCORERS = ["harness.bfcl.cli", "harness.apibank.cli"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score existing result files (BFCL, API-Bank)",
                       description="Score result files produced elsewhere with the same checkers as `rest eval`.")
    inner = p.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    for name in SCORERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.add_score_parser(inner)
    p.set_defaults(func=lambda a: p.print_help() or 2)
