"""Read, score and write BFCL result files (`result/<model>/<group>/BFCL_v4_<cat>_result.json`).

A result file holds one JSON object per line, `{"id": ..., "result": ...}`,
exactly as `bfcl generate` writes it; the category comes from the id, so
files may mix categories. An id may appear only once across all the files
read together: counting copies would let 400 copies of one correct answer
score 400/400 (BFCL's own scorer raises on them too).
Single-turn lines are scored with `scoring.score_output`; multi-turn lines
(whose result is a list of turns) go to `harness.bfcl.multi_turn.scoring`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.bfcl import data
from harness.bfcl.categories import CATEGORIES
from harness.bfcl.scoring import FORMATS, score_output
from harness.types import UserError, Verdict

MULTI_TURN_PREFIX = "multi_turn_"


@dataclass(frozen=True)
class ResultLine:
    """One line of a result file, where it came from, and its category."""

    path: str
    lineno: int
    id: str
    category: str
    result: Any
    fields: dict[str, Any] = field(default_factory=dict)  # the line's other keys (latency, token counts...)


def read_result_files(paths: Iterable[str | Path]) -> list[ResultLine]:
    """Parse result files in order (file by file, line by line); bad input, a repeated id included, raises UserError.

    Every unreadable line (not UTF-8, not JSON, nested past the parser's depth) is one line naming
    it, and so are files that hold no result at all: scoring nothing would print a table of N/A
    and exit 0, as if the files had been scored.
    """
    out: list[ResultLine] = []
    seen: dict[str, str] = {}
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise UserError(f"result file not found: {p}")
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise UserError(f"cannot read {p}: {exc.strerror or exc}") from None
        for lineno, line in enumerate(raw.split(b"\n"), 1):
            if not line.strip():
                continue
            obj = _parse(line, f"{p}:{lineno}")
            if not isinstance(obj, dict) or "id" not in obj or "result" not in obj:
                raise UserError(f"{p}:{lineno}: expected an object with 'id' and 'result'")
            test_id = obj["id"]
            try:
                category = data.category_of(test_id)
            except UserError:
                raise UserError(f"{p}:{lineno}: not a BFCL entry id: {test_id!r}") from None
            if category not in CATEGORIES and not category.startswith(MULTI_TURN_PREFIX):
                raise UserError(f"{p}:{lineno}: unknown or unsupported BFCL category {category!r} (id {test_id!r})")
            if test_id in seen:
                raise UserError(f"{p}:{lineno}: duplicate id {test_id!r} (first at {seen[test_id]}); "
                                "each id must be scored once")
            seen[test_id] = f"{p}:{lineno}"
            out.append(ResultLine(str(p), lineno, test_id, category, obj["result"],
                                  {k: v for k, v in obj.items() if k not in ("id", "result")}))
    if not out:
        raise UserError("no results in the given files (each line: {\"id\": ..., \"result\": ...})")
    return out


def _parse(line: bytes, where: str) -> Any:
    try:
        return json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UserError(f"{where}: not UTF-8 text (byte {exc.start}); a result file is JSON lines") from None
    except ValueError as exc:
        raise UserError(f"{where}: not a JSON object ({getattr(exc, 'msg', exc)})") from None
    except RecursionError:
        raise UserError(f"{where}: JSON nested too deeply to read") from None


class _Entries:
    """Evaluation-time entries and answers by id, loaded once per category."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, dict]] = {}
        self._answers: dict[str, dict[str, list]] = {}

    def get(self, category: str, test_id: str, where: str) -> tuple[dict, list | None]:
        if category not in self._entries:
            self._entries[category] = {e["id"]: e for e in data.load_entries(category, False)}
            self._answers[category] = data.load_answers(category)
        entry = self._entries[category].get(test_id)
        if entry is None:
            raise UserError(f"{where}: unknown BFCL id {test_id!r}")
        return entry, self._answers[category].get(test_id)


def _fc_calls(result: Any) -> list[dict] | None:
    """BFCL FC result lists (`[{name: json_args}]`) as a chat-API tool_calls field."""
    if isinstance(result, list) and all(isinstance(c, dict) and len(c) == 1 for c in result):
        return [{"function": {"name": name, "arguments": args}} for c in result for name, args in c.items()]
    return None


def score_lines(lines: list[ResultLine], fmt: str = "prompting") -> list[dict[str, Any]]:
    """One row `{"id", "category", "valid", "error_type", "errors", "decoded"}` per line, in order."""
    if fmt not in FORMATS:
        raise UserError(f"unknown --format {fmt!r}; expected one of {', '.join(FORMATS)}")
    entries = _Entries()
    multi_turn = None
    rows = []
    for line in lines:
        where = f"{line.path}:{line.lineno}"
        if line.category.startswith(MULTI_TURN_PREFIX):
            if multi_turn is None:
                multi_turn = _multi_turn_scorer()
            verdict = multi_turn(line.id, line.category, line.result, fmt)
        else:
            entry, answer = entries.get(line.category, line.id, where)
            verdict = _score_single(line, entry, answer, fmt)
        rows.append({"id": line.id, "category": line.category, "valid": verdict.valid, "error_type": verdict.error_type,
                     "errors": list(verdict.errors), "decoded": verdict.detail.get("decoded")})
    return rows


def _score_single(line: ResultLine, entry: dict, answer: list | None, fmt: str) -> Verdict:
    result, tool_calls = line.result, None
    if fmt == "fc" and not isinstance(result, str):
        tool_calls, result = _fc_calls(result), ""
        if tool_calls is None:
            return Verdict(valid=False, error_type="ast_decoder:decoder_failed", errors=["unreadable FC result"])
    return score_output(
        category=line.category,
        functions=entry["function"],
        possible_answer=answer,
        text=result,
        fmt=fmt,
        tool_calls=tool_calls,
    )


def _multi_turn_scorer():
    """BFCL's multi-turn scorer, imported only when a file holds multi-turn lines."""
    from harness.bfcl.multi_turn.scoring import score_result_line

    return score_result_line


def category_counts(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """{category: (correct, total)} over scored rows (`read_result_files` has refused duplicate ids)."""
    counts: dict[str, list[int]] = {}
    for row in rows:
        c = counts.setdefault(row["category"], [0, 0])
        c[0] += bool(row["valid"])
        c[1] += 1
    return {k: (v[0], v[1]) for k, v in counts.items()}


def check_out_path(out: str | Path, inputs: Iterable[str | Path]) -> None:
    """Refuse an --out that is one of the input files (writing it would destroy the input) or cannot be a file."""
    from harness.report import check_out_file

    target = Path(out)
    for name in inputs:
        source = Path(name)
        same = target.resolve() == source.resolve()
        if not same and target.exists() and source.exists():
            same = target.samefile(source)  # a hard link
        if same:
            raise UserError(f"--out {out} is one of the input files; choose another path")
    check_out_file(out)


def write_rows(rows: list[dict[str, Any]], path: str | Path) -> None:
    """Per-sample verdicts as JSON lines, in input order."""
    from harness.report import write_out_file

    write_out_file(path, "".join(json.dumps({k: row[k] for k in ("id", "category", "valid", "error_type")}) + "\n"
                                 for row in rows))


def group_dir(category: str) -> str:
    if category in CATEGORIES:
        return CATEGORIES[category]
    if category.startswith(MULTI_TURN_PREFIX):
        return "multi_turn"
    if category.startswith("web_search"):
        return "agentic"
    if category.startswith("memory_"):
        return str(Path("agentic", "memory", category.removeprefix("memory_")))
    raise UserError(f"no BFCL result-file group for category {category!r}")


def entry_index(test_id: str) -> int:
    """An id's entry index (`live_simple_19-3-15` -> 19): BFCL's order within a category's files."""
    index = test_id.split(":")[0].rsplit("_", 1)[1]
    try:
        return int(index.split("-")[0])
    except ValueError:
        return 0


def write_result_files(rows: Iterable[dict[str, Any]], out_dir: str | Path, model_name: str) -> list[Path]:
    """Write `{"id", "result", ...}` rows in BFCL's own layout under out_dir/result/<model>/.

    The model directory is the name with "/" replaced by "_", as BFCL does;
    rows are grouped by category and sorted by entry index. Existing files
    for those categories are replaced. Returns the written paths.
    """
    by_file: dict[Path, list[dict]] = {}
    model_dir = Path(out_dir) / "result" / model_name.replace("/", "_")
    for row in rows:
        if "id" not in row or "result" not in row:
            raise ValueError("result rows need 'id' and 'result'")
        category = data.category_of(row["id"])
        path = model_dir / group_dir(category) / f"{data.VERSION_PREFIX}_{category}_result.json"
        by_file.setdefault(path, []).append(row)
    for path, file_rows in by_file.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        file_rows.sort(key=lambda r: entry_index(r["id"]))
        with path.open("w", encoding="utf-8") as fh:
            for row in file_rows:
                fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    return sorted(by_file)


def record_result(record: dict[str, Any], category: str) -> Any:
    """What `bfcl generate` would store for a run's sample: native calls as [{name: arguments}], multi-turn turns as lists."""
    if record.get("tool_calls"):
        return [{c.get("function", c).get("name", ""): c.get("function", c).get("arguments", "{}")}
                for c in record["tool_calls"]]
    text = record.get("completion") or ""
    if category.startswith(MULTI_TURN_PREFIX):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return text
    return text
