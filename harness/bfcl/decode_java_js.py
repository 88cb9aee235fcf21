"""Decode BFCL prompting-mode Java and JavaScript calls with tree-sitter, as BFCL does.

BFCL keeps Java/JS argument values as source strings (its checker converts
them later), so these decoders only cut the text up. The behaviour copied on
purpose, quirks included, because scores depend on it:
- a parse tree containing an ERROR node is rejected (MISSING nodes are not);
- only the FIRST call found is returned (Java: depth-first; JS: the first
  call expression statement); nothing found gives `{}` (Java) or `None` (JS);
- Java slices the text by tree-sitter *byte* offsets, which shifts values for
  non-ASCII input; Java re-joins nested nodes without whitespace;
- positional identifiers (and JS `true`) are kept under the key None; a name
  given twice is an error.

Before tree-sitter sees the text, and before its recursive `sexp()` sees the
tree, `decode_limits` bounds the text's length and the tree's depth: a result
nested ~15,000 deep otherwise overflows the C stack (exit 139). A parse has a
time limit too, since tree-sitter's error recovery is superlinear on some
garbage.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from harness.bfcl.decode_limits import MAX_NESTING, PARSE_TIMEOUT_S, check_text, tree_depth
from harness.bfcl.errors import DecodeError, InputTooLarge


@cache
def _parser(language: str) -> Any:
    from tree_sitter import Language, Parser

    if language == "java":
        import tree_sitter_java as grammar
    else:
        import tree_sitter_javascript as grammar
    parser = Parser()
    parser.set_language(Language(grammar.language(), language))
    parser.set_timeout_micros(int(PARSE_TIMEOUT_S * 1_000_000))
    return parser


def _parse(source: str, language: str) -> Any:
    check_text(source)
    try:
        data = source.encode("utf8")
    except UnicodeEncodeError as exc:
        raise DecodeError(f"text is not encodable as UTF-8: {exc}") from None
    parser = _parser(language)
    try:
        root = parser.parse(data).root_node
    except ValueError:  # the timeout ("Parsing failed"); a parser left mid-parse would resume it next time
        parser.reset()
        raise InputTooLarge(f"{language} output took longer than {PARSE_TIMEOUT_S:g} s to parse") from None
    if tree_depth(root) > MAX_NESTING:  # operators nest too (`1+1+...`), so measure the tree itself
        raise InputTooLarge(f"{language} output nested more than {MAX_NESTING} levels deep")
    if "ERROR" in root.sexp():
        raise DecodeError(f"{language} syntax error")
    return root


def _arguments(args_node: Any, argument: Callable[[Any], tuple[str | None, str] | None]) -> dict:
    """`{param: source text}` of a call's argument list. `argument` reads one child node as `(key, value)`
    (key None for a positional one), or None for a child BFCL skips (punctuation, other positional values);
    a name given twice is an error."""
    out: dict[Any, Any] = {}
    for child in args_node.children:
        pair = argument(child)
        if pair is None:
            continue
        key, val = pair
        if key in out:
            raise DecodeError(f"argument {key!r} given more than once")
        out[key] = val
    return out


# ------------------------------------------------------------------ Java


def parse_java(source: str) -> list[dict[str, dict]] | dict:
    """Decode one Java method call (`obj.name(a=..)`) into `[{name: {param: source text}}]`."""
    root = _parse(source, "java")

    def text(node: Any) -> str:
        return source[node.start_byte : node.end_byte]  # byte offsets on a str, as BFCL

    def value(node: Any, nested: bool = False) -> str:
        kind = node.type
        if kind in ("string_literal", "character_literal"):
            return text(node) if nested else text(node)[1:-1]
        if kind in ("identifier", "class_literal", "type_identifier", "method_invocation"):
            return text(node)
        if kind == "array_creation_expression":
            type_node, value_node = node.child_by_field_name("type"), node.child_by_field_name("value")
            if type_node is None or value_node is None:
                raise DecodeError("array creation without type or initializer")
            return f"new {value(type_node, True)}[]{value(value_node, True)}"
        if kind == "object_creation_expression":
            type_node = node.child_by_field_name("type")
            if type_node is None:
                raise DecodeError("object creation without a type")
            args_node = node.child_by_field_name("arguments")
            if args_node is None:
                return f"new {value(type_node, True)}()"
            parts = [value(c, True) for c in args_node.children if c.type not in (",", "(", ")")]
            return f"new {value(type_node, True)}({', '.join(parts)})"
        if kind == "set":
            parts = [value(c, True) for c in node.children if c.type not in (",", "set")]
            return "{" + ", ".join(parts) + "}"
        if node.child_count > 0:
            return "".join(value(c, True) for c in node.children)
        return text(node)

    def argument(child: Any) -> tuple[str | None, str] | None:
        if child.type == "assignment_expression":
            return text(child.children[0]), value(child.children[2])
        if child.type in ("identifier", "class_literal", "set"):
            return None, value(child)
        return None

    def find(node: Any) -> list | None:
        if node.type == "method_invocation":
            name = text(node.child_by_field_name("name"))
            obj = node.child_by_field_name("object")
            if obj is not None:
                name = f"{text(obj)}.{name}"
            args_node = node.child_by_field_name("arguments")
            if args_node is not None:
                return [{name: _arguments(args_node, argument)}]
            return None
        for child in node.children:
            found = find(child)
            if found:
                return found
        return None

    try:
        found = find(root)
    except DecodeError:
        raise
    except Exception as exc:  # e.g. a malformed node BFCL would also trip on
        raise DecodeError(f"{type(exc).__name__}: {exc}") from None
    return found if found else {}


# ------------------------------------------------------------ JavaScript


def parse_javascript(source: str) -> list[dict[str, dict]] | None:
    """Decode the first JS call statement (`f(a=..)`) into `[{name: {param: source text}}]`."""
    root = _parse(source, "javascript")

    def argument(child: Any) -> tuple[str | None, str] | None:
        if child.type == "assignment_expression":
            key = child.children[0].text.decode("utf-8")
            val = child.children[2].text.decode("utf-8")
            if val[:1] in ('"', "'") and val.endswith(val[0]):
                val = val[1:-1]
            return key, val
        if child.type in ("identifier", "true"):
            return None, child.text.decode("utf-8")
        return None

    if root.type != "program":
        return None
    for stmt in root.children:
        if stmt.type != "expression_statement":
            continue
        for node in stmt.children:
            if node.type == "call_expression":
                if node.child_count < 2:
                    raise DecodeError("call expression without arguments")
                name = node.children[0].text.decode("utf8")
                return [{name: _arguments(node.children[1], argument)}]
    return None
