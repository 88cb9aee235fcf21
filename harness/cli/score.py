"""`rest score`: score result files written by other tools (BFCL's `bfcl generate`, API-Bank scripts).

Each benchmark owns its scorer's sub-subcommand (`add_score_parser(subparsers)` in
its own `cli` module); they are registered here by reference.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from harness.registry import Registry

# name -> "module:add_score_parser", in the order `rest score --help` lists them
SCORER_REFS = {
    "bfcl": "harness.bfcl.cli:add_score_parser",
    "apibank": "harness.apibank.cli:add_score_parser",
}
SCORERS: Registry[Callable[[Any], Any]] = Registry("scorer")
for _name, _ref in SCORER_REFS.items():
    SCORERS.register_lazy(_name, _ref)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score existing result files (BFCL, API-Bank)",
                       description="Score result files produced elsewhere with the same checkers as `rest eval`.")
    inner = p.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    for name in SCORER_REFS:
        SCORERS.get(name)(inner)
    p.set_defaults(func=lambda a: p.print_help() or 2)
