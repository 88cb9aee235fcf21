"""Text that comes from run folders (names, models, task keys) made inert in each board format.

A board shows names chosen by whoever ran the evaluation, and a summary.json
is just a file: `<!--` in a run name hid the rest of README.md on GitHub and
made the HTML page's embedded JSON unparsable (a blank page); `|` or a
newline split a Markdown table row; a cell starting with `=` is a formula in
a spreadsheet (`=HYPERLINK(...)`); NaN is not JSON, so `JSON.parse` failed.
Each renderer routes such text through one function here.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from harness.types import UserError

_JSON_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_MD = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\\": "\\\\", "|": "\\|", "\r": " ", "\n": " "}
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def first_non_finite(value: Any, path: str = "board") -> str | None:
    """The path (`board.rows[2].limit`) of the first NaN or infinity in a JSON-like value, else None."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return f"{where} = {item}"
        if isinstance(item, dict):
            stack.extend((v, f"{where}.{k}") for k, v in reversed(list(item.items())))
        elif isinstance(item, (list, tuple)):
            stack.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(item))))
    return None


def refuse_non_finite(board: dict[str, Any]) -> None:
    """One-line UserError naming the first non-finite number (and its run), so no board file holds one."""
    where = first_non_finite(board)
    if where is None:
        return
    run = ""
    match = re.match(r"board\.rows\[(\d+)\]", where)
    if match:
        row = board["rows"][int(match.group(1))]
        run = f" (run {row.get('source') or row.get('id')})"
    raise UserError(f"board data holds a non-finite number at {where}{run}; NaN and infinity are not JSON, "
                    "fix that summary.json")


def json_for_html(value: Any) -> str:
    """JSON for a <script type="application/json"> block: no '<', '>' or '&' at all, so no '</script>' or
    '<!--' can end or change the block; only standard escapes, so `JSON.parse` reads it back unchanged.
    """
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        refuse_non_finite(value)
        raise
    return re.sub("[<>&\u2028\u2029]", lambda m: _JSON_HTML[m.group()], text)


def md_text(value: Any) -> str:
    """Text for a Markdown table cell or heading: HTML inert, pipes escaped, on one line.

    Entities and backslash escapes render as the original characters on GitHub.
    """
    return re.sub(r"[&<>\\|\r\n]", lambda m: _MD[m.group()], "" if value is None else str(value))


def md_code(value: Any) -> str:
    """An inline code span when the text allows one (no backtick, one line), else escaped plain text."""
    text = "" if value is None else str(value)
    if "`" in text or "\n" in text or "\r" in text:
        return md_text(text)
    return f"`{text}`"


def csv_cell(value: Any) -> Any:
    """A spreadsheet-inert cell: text that a spreadsheet would read as a formula gets a leading quote.

    Numbers (and text that is just a number, like "-1.5") stay as they are, so columns stay numeric.
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS) or _NUMBER.fullmatch(value):
        return value
    return "'" + value
