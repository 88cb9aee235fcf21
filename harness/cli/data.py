"""`rest data`: fetch the benchmark data files (pinned, sha256-verified) and show what is present."""

from __future__ import annotations

import argparse

from harness.data import fetch as data_fetch


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="download benchmark data (API-Bank, ToolRL) into the cache",
                       description="Benchmark data is not shipped with the package: fetch it from its public "
                       "upstream locations at pinned commits, verified by sha256.")
    inner = p.add_subparsers(dest="data_command", metavar="ACTION")
    names = data_fetch.datasets()

    f = inner.add_parser("fetch", help="download a dataset (resumes; keeps verified files)",
                         description="Download every file of the dataset into DEST (default "
                         "<cache>/data/<dataset>, cache = $REST_CACHE_DIR or ~/.cache/rest-harness). Each file is "
                         "checked against its pinned sha256 before it is moved into place.")
    f.add_argument("datasets", nargs="+", choices=names, metavar="DATASET", help=f"one or more of: {', '.join(names)}")
    f.add_argument("--dest", default=None, help="target directory (one dataset only); default: the cache")
    f.add_argument("--base-url", default=None,
                   help="mirror laid out like the cache (URL/<dataset>/<path>) instead of the upstream URLs")
    f.set_defaults(func=run_fetch)

    ls = inner.add_parser("list", help="show which datasets are present in the cache")
    ls.add_argument("--dest", default=None, help="check this directory instead of the cache (one dataset only)")
    ls.add_argument("datasets", nargs="*", metavar="DATASET", help=f"any of: {', '.join(names)} (default: all)")
    ls.set_defaults(func=run_list)
    p.set_defaults(func=lambda a: p.print_help() or 2)


def run_fetch(args: argparse.Namespace) -> int:
    from harness.types import UserError

    if args.dest and len(args.datasets) > 1:
        raise UserError("--dest takes one dataset at a time")
    for name in args.datasets:
        report = data_fetch.fetch(name, args.dest, args.base_url)
        total = len(report.downloaded) + len(report.kept)
        print(f"{name}: {total} files verified in {report.dest} "
              f"({len(report.downloaded)} downloaded, {len(report.kept)} already present)")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from harness.types import UserError

    names = args.datasets or data_fetch.datasets()
    for name in names:
        data_fetch.manifest(name)  # unknown name -> UserError listing the known ones
    if args.dest and len(names) != 1:
        raise UserError("--dest needs exactly one dataset")
    table = Table(title="benchmark data")
    for col in ("dataset", "state", "files ok", "missing", "corrupt", "location"):
        table.add_column(col, overflow="fold")
    for name in names:
        states = data_fetch.status(name, args.dest)
        counts = {s: sum(1 for v in states.values() if v == s) for s in ("ok", "missing", "corrupt")}
        state = "complete" if counts["ok"] == len(states) else "absent" if counts["missing"] == len(states) else "partial"
        where = args.dest or str(data_fetch.default_dest(name))
        table.add_row(name, state, f"{counts['ok']}/{len(states)}", str(counts["missing"]), str(counts["corrupt"]), where)
    Console().print(table)
    return 0
