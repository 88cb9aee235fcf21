"""Size and nesting limits checked before any decoder parses model text.

Parsers are the one place where a short-lived model output meets unbounded
work: CPython's `ast.parse` holds about 0.5 KB per input character at its
peak (3 MB of `[],` took 1.4 GB), and tree-sitter's `sexp()` recurses in C
once per tree level, so a result nested about 15,000 deep overflows the C
stack and kills the process (exit 139) where no exception can be caught.

The limits (reasons in docs/security.md):
- `MAX_TEXT_CHARS` = 200,000 characters: about 100 MB peak in `ast.parse`;
  real BFCL outputs are under 5,000 characters, and even a 32k-token
  generation budget seldom reaches 130,000.
- `MAX_NESTING` = 500 levels of brackets (and, for tree-sitter, of tree
  depth): real outputs nest under 20; CPython itself stops at 200 brackets;
  tree-sitter's recursion needs under 0.5 KB of stack a level, so 500 levels
  fit even a 512 KB thread stack.
- `PARSE_TIMEOUT_S` = 2 s for one tree-sitter parse: its error recovery is
  superlinear on some garbage (100 KB of mixed control and astral characters
  took about a minute for Java); real outputs parse in well under 1 ms.
Both checks are linear and cheap: `str.count` settles the usual case, and
the bracket scan only runs when a text holds more than `MAX_NESTING` opening
brackets in all.
"""

from __future__ import annotations

import re
from typing import Any

from harness.bfcl.errors import InputTooLarge

MAX_TEXT_CHARS = 200_000
MAX_NESTING = 500
PARSE_TIMEOUT_S = 2.0

_BRACKET = re.compile(r"[\[\](){}]")
_OPEN = frozenset("([{")


def check_text(text: str) -> None:
    """Raise `InputTooLarge` when `text` is too long or its brackets nest too deeply."""
    check_length(text)
    opens = text.count("(") + text.count("[") + text.count("{")
    if opens <= MAX_NESTING:
        return  # depth cannot exceed the number of opening brackets
    depth = 0
    for match in _BRACKET.finditer(text):
        if match.group() in _OPEN:
            depth += 1
            if depth > MAX_NESTING:
                raise InputTooLarge(f"model output nested more than {MAX_NESTING} levels deep")
        elif depth > 0:
            depth -= 1


def check_length(text: str) -> None:
    """Raise `InputTooLarge` when `text` is too long (JSON decoders: their parser guards its own recursion)."""
    if len(text) > MAX_TEXT_CHARS:
        raise InputTooLarge(f"model output too long to decode: {len(text)} characters (limit {MAX_TEXT_CHARS})")


def tree_depth(root: Any, limit: int = MAX_NESTING) -> int:
    """Depth of a tree-sitter tree, walked with a cursor (no recursion); stops early past `limit`.

    Brackets are not the only nesting: `1+1+...` or `!!!x` nest one level per
    operator, so the parsed tree itself is measured before anything recursive
    (tree-sitter's `sexp()`, our decoders) touches it.
    """
    cursor = root.walk()
    depth = deepest = 0
    while True:
        if cursor.goto_first_child():
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return deepest
            depth -= 1
