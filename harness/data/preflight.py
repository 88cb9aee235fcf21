"""Before a model loads, make sure every task `rest eval` was asked for has its data.

Data that ships inside an installed package (BFCL, in `bfcl-eval`) is always
there. Data that does not (API-Bank, ToolRL) is fetched on first use through
the same pinned, sha256-verified path as `rest data fetch`, with a line saying
so, because a user who names a benchmark is waiting for it anyway and the files
are fixed by hash, so fetching cannot change a score.

The fetch lives here and not in the lookups (`harness.apibank.data.data_dir`,
`harness.toolrl.data.resolve`) so that finding files stays free of side effects
for `rest score`, the trainer and the tests. When the data can be neither found
nor fetched, a task the user named is a one-line error (exit 2), while
`skip_missing` (the demo) runs the rest and says in one line per dataset what it
skipped and the command that adds it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from harness import tasks as registry
from harness.types import DataMissing, Sample, UserError

Say = Callable[[str], None]


@dataclass
class LoadedTask:
    """A task and its samples, read once per run: by the pre-flight, then handed to the runner."""

    task: registry.Task
    samples: list[Sample]


def load(name: str) -> LoadedTask:
    """Build task `name` and read its samples (DataMissing when its files are nowhere)."""
    task = registry.get(name)  # some tasks look for their files when built, the others in samples()
    return LoadedTask(task, task.samples())


def _stderr(line: str) -> None:
    print(f"rest: {line}", file=sys.stderr, flush=True)


def fetch_dataset(dataset: str, say: Say = _stderr) -> str | None:
    """Fetch `dataset` into the cache with a progress line; None when it worked, else the reason (one line)."""
    from harness.data import fetch as data_fetch

    count = len(data_fetch.manifest(dataset))
    say(f"{dataset} data not found; fetching its {count} pinned, verified files into {data_fetch.default_dest(dataset)} "
        f"(what `rest data fetch {dataset}` does) ...")
    try:
        report = data_fetch.fetch(dataset)
    except UserError as exc:
        return str(exc)
    say(f"{dataset}: {len(report.downloaded) + len(report.kept)} files verified in {report.dest}")
    return None


def prepare(names: list[str], *, fetch: bool = True, skip_missing: bool = False,
            say: Say = _stderr) -> dict[str, LoadedTask]:
    """Load each task's samples (fetching missing data once per dataset); return the tasks that can run, loaded.

    Raises DataMissing (a one-line UserError) for the first task whose data is
    missing, unless `skip_missing`; then raises only when nothing is left to run.
    """
    fetched: dict[str, str | None] = {}  # dataset -> None (fetched) or why the fetch failed
    skipped: dict[str, list[str]] = {}
    ready: dict[str, LoadedTask] = {}
    for name in names:
        try:
            ready[name] = load(name)
        except DataMissing as exc:
            why = str(exc)
            if fetch:
                if exc.dataset not in fetched:
                    fetched[exc.dataset] = fetch_dataset(exc.dataset, say)
                if fetched[exc.dataset] is None:
                    ready[name] = load(name)  # DataMissing now is a real error: the fetch put the files in place
                    continue
                why = f"{why}; fetching it failed: {fetched[exc.dataset]}"
            if not skip_missing:
                raise DataMissing(why if why.startswith(name) else f"{name}: {why}", exc.dataset) from None
            skipped.setdefault(exc.dataset, []).append(name)
    for dataset, tasks in skipped.items():
        how = f"fetching it failed ({fetched[dataset]})" if fetch else "--no-fetch was given"
        say(f"skipped {', '.join(tasks)}: {dataset} data is not on this machine and {how}; "
            f"add it with `rest data fetch {dataset}`")
    if not ready:
        raise UserError("nothing left to run: every requested task was skipped for missing data")
    return ready
