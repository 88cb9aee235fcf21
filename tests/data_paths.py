"""Where the tests find benchmark data: the tool's own lookup, a fetch on first use, else a stated skip.

Tests must see the data the way `rest` does, so a fresh clone, a user with a
fetch cache and CI (which keeps its copy in ../shared/data) all run the same
code: `$REST_APIBANK_DATA` / `$REST_TOOLRL_DATA`, the fetch cache
(`$REST_CACHE_DIR` or ~/.cache/rest-harness, `data/<dataset>`), then
../shared/data beside the checkout. Those rules live in the harness
(`harness.apibank.data.data_dir`, `harness.toolrl.data.search_dirs`); this
module only calls them. When nothing is found, the pinned files are fetched
once per session (the `rest data fetch` path); when that fails too, every test
that needs them is skipped with the reason, never silently, and with
REST_REQUIRE_DATA=1 (set by .ci/run, where the data is present) it fails instead.

Use `pytestmark = needs("apibank")` (or the decorator) on tests that read the
data; `dataset_dir(name)` gives the folder for module-level constants (a path
that may not exist when the data is missing: the marker keeps such tests from
running).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REQUIRE_ENV = "REST_REQUIRE_DATA"
MARKER = "needs_data"
TOOLRL_FILES = ("rlla_sft.json", "rlla_4k_test.parquet")  # what the tests read (the toolrl:sft / toolrl:test aliases)

CI_COPY = "ci-copy"  # ../shared/data itself, for tests that compare against those exact bytes
# Test files (owned elsewhere, not edited here) that read CI's copy directly instead of through this module:
# file -> fixtures that serve it. Their tests that use such a fixture or name SHARED get needs("ci-copy").
READS_CI_COPY = {"tests/apibank/test_fetch.py": ("mirror",)}
ROOT = Path(__file__).resolve().parents[1]

_found: dict[str, tuple[Path | None, str]] = {}  # dataset -> (folder, why it is missing); filled once per session


def to_stderr(line: str) -> None:
    print(f"tests: {line}", file=sys.stderr)


say: Callable[[str], None] = to_stderr  # conftest points this at pytest's terminal (stderr is captured there)


def _lookup(name: str) -> Path:
    """The folder the harness would use for `name`; raises DataMissing / UserError when there is none."""
    from harness.types import DataMissing, UserError

    if name == "apibank":
        from harness.apibank.data import data_dir

        return data_dir()
    if name == CI_COPY:
        from harness.apibank.data import _sibling_shared

        copy = _sibling_shared().parent
        if all((copy / d).is_dir() for d in ("apibank", "toolrl")):
            return copy
        raise UserError(f"reads CI's copy of the data at {copy} directly (not through tests/data_paths.py), "
                        "and there is none beside this checkout")
    if name == "toolrl":
        from harness.toolrl.data import search_dirs

        for folder in search_dirs():
            if all((folder / f).is_file() for f in TOOLRL_FILES):
                return folder
        tried = ", ".join(str(d) for d in search_dirs())
        raise DataMissing(f"ToolRL data ({', '.join(TOOLRL_FILES)}) not found in {tried}", dataset="toolrl")
    raise ValueError(f"unknown dataset {name!r}")


def locate(name: str) -> tuple[Path | None, str]:
    """(folder, "") when the data is here or could be fetched now, else (None, why); memoised per session."""
    if name not in _found:
        from harness.data.preflight import fetch_dataset
        from harness.types import DataMissing, UserError

        try:
            _found[name] = (_lookup(name), "")
        except DataMissing as exc:
            failure = fetch_dataset(name, say)
            try:
                _found[name] = (_lookup(name), "") if failure is None else (None, f"{exc}; fetching it failed: {failure}")
            except UserError as again:
                _found[name] = (None, str(again))
        except UserError as exc:  # an explicit $REST_APIBANK_DATA that is not a folder: say so, do not fetch
            _found[name] = (None, str(exc))
    return _found[name]


def dataset_dir(name: str) -> Path:
    """The data folder, or where `rest data fetch` would put it (tests using it carry `needs(name)`)."""
    folder, _ = locate(name)
    if folder is not None:
        return folder
    from harness.data.fetch import default_dest

    return default_dest(name)


def needs(*names: str) -> pytest.MarkDecorator:
    """Mark a test (or `pytestmark` a module) as reading these datasets; see `require`."""
    return getattr(pytest.mark, MARKER)(*names)


def require(name: str) -> Path:
    """The data folder; else skip with the reason, or fail under REST_REQUIRE_DATA=1 (CI has the data)."""
    folder, why = locate(name)
    if folder is not None:
        return folder
    reason = f"needs {name} data: {why}"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} [{REQUIRE_ENV}=1: every data test must run here]", pytrace=False)
    pytest.skip(reason)


def missing_dataset_of(exc: BaseException) -> str | None:
    """The dataset whose absence `exc` reports, else None.

    DataMissing says so itself. The trainer resolves its ToolRL aliases on its own and
    raises a plain one-line UserError ("... needs rlla_sft.json; not found in ..."),
    which a test running `rest train` in a subprocess sees inside an AssertionError:
    so the text is read whatever the exception type.
    """
    from pathlib import PurePosixPath

    from harness.data.fetch import manifest
    from harness.types import DataMissing

    if isinstance(exc, DataMissing):
        return exc.dataset
    text = str(exc)
    if "not found in" in text and any(f"needs {PurePosixPath(s.path).name}" in text for s in manifest("toolrl")):
        return "toolrl"
    if "API-Bank data not found (looked in" in text:
        return "apibank"
    return None


def reads_ci_copy(item: pytest.Item) -> bool:
    """True for a test in a READS_CI_COPY file that uses one of its serving fixtures or names SHARED."""
    try:
        fixtures = READS_CI_COPY.get(Path(item.path).resolve().relative_to(ROOT).as_posix())
    except ValueError:
        return False
    if fixtures is None:
        return False
    function = getattr(item, "function", None)
    names = function.__code__.co_names if function is not None else ()
    return bool(set(fixtures) & set(getattr(item, "fixturenames", ()))) or "SHARED" in names
