"""Decode BFCL prompting-mode Python call syntax, exactly as BFCL does, without running it.

BFCL's `default_decode_ast_prompting` strips backticks/newlines/spaces at the
ends, wraps the text in `[...]`, parses it with `ast` and walks the tree:
keyword arguments only (positional ones are dropped), nested calls become
dicts (or their source text when they have no keywords), names and subscripts
become their source text, and a unary operator negates a literal operand
whatever the operator. Its only dangerous step is `eval` on binary operations;
here those are folded over literal operands only, with size limits, and
anything else raises `UnsafeExpression`. Every other value and every failure
matches the official decoder, except that text over `decode_limits` (200,000
characters, 500 levels of brackets) raises `InputTooLarge` before `ast.parse`
sees it: the parser's peak memory grows with the text (3 MB took 1.4 GB).
"""

from __future__ import annotations

import ast
import operator
import re
from typing import Any

from harness.bfcl.decode_limits import check_text
from harness.bfcl.errors import DecodeError, UnsafeExpression

# Results of folded arithmetic larger than this are refused (BFCL would compute them).
MAX_INT_BITS = 100_000
MAX_SEQ_LEN = 100_000


def preprocess(text: str) -> str:
    """BFCL's text clean-up before parsing: strip "`", newlines and spaces, then wrap in brackets."""
    text = text.strip("`\n ")
    if not text.startswith("["):
        text = "[" + text
    if not text.endswith("]"):
        text = text + "]"
    return text


def parse_calls(text: str, *, keep_positional: bool = False) -> list[dict[str, dict]]:
    """Decode model text into `[{"func": {"param": value}}]`; raise DecodeError where BFCL fails."""
    if not isinstance(text, str):
        raise DecodeError(f"expected model text, got {type(text).__name__}")
    check_text(text)
    source = preprocess(text).strip().strip("'")
    try:
        tree = ast.parse(source, mode="eval")
    except (MemoryError, RecursionError):  # operator chains (`- - - 1`, `1+1+...`) past the parser's own limits
        raise DecodeError("not valid Python call syntax: expression nested too deeply for the parser") from None
    except (SyntaxError, ValueError, OverflowError) as exc:
        raise DecodeError(f"not valid Python call syntax: {exc}") from None
    body = tree.body
    try:
        if isinstance(body, ast.Call):
            return [resolve_call(body, keep_positional)]
        elts = getattr(body, "elts", None)
        if elts is None:
            raise DecodeError(f"expected a list of calls, got {type(body).__name__}")
        out = []
        for elem in elts:
            if not isinstance(elem, ast.Call):
                raise DecodeError(f"list element is not a call: {type(elem).__name__}")
            out.append(resolve_call(elem, keep_positional))
        return out
    except DecodeError:
        raise
    except RecursionError:
        raise DecodeError("expression nested too deeply") from None
    except Exception as exc:  # BFCL raises here too (TypeError, ValueError, ...)
        raise DecodeError(f"{type(exc).__name__}: {exc}") from None


def attribute_chain(func: ast.AST) -> tuple[ast.AST, list[str]]:
    """`a.b.c` as `(node of a, ["b", "c"])`: the expression under the attributes, and their names in order."""
    attrs = []
    while isinstance(func, ast.Attribute):
        attrs.append(func.attr)
        func = func.value
    return func, attrs[::-1]


def call_name(node: ast.Call) -> str:
    """Dotted name of the callee; BFCL keeps only the attribute chain down to a plain name."""
    base, attrs = attribute_chain(node.func)
    return ".".join([base.id, *attrs] if isinstance(base, ast.Name) else attrs)


def resolve_call(node: ast.Call, keep_positional: bool = False) -> dict[str, dict]:
    """One call as `{name: {param: value}}`; `**kw` lands under key None, as in BFCL.

    With `keep_positional` (not BFCL) positional arguments are kept under the
    integer keys 0, 1, ... so a caller that knows the signature can name them.
    """
    args: dict[Any, Any] = {}
    if keep_positional:
        for i, arg in enumerate(node.args):
            args[i] = resolve_value(arg, keep_positional)
    for kw in node.keywords:
        args[kw.arg] = resolve_value(kw.value, keep_positional)
    return {call_name(node): args}


def resolve_value(node: ast.AST, keep_positional: bool = False) -> Any:
    """One argument value, following BFCL's `resolve_ast_by_type` case by case."""
    if isinstance(node, ast.Constant):
        return "..." if node.value is Ellipsis else node.value
    if isinstance(node, ast.UnaryOp):
        # BFCL negates `operand.value` for every unary operator (`+5` gives -5).
        operand = node.operand
        if not isinstance(operand, ast.Constant):
            raise DecodeError(f"unsupported unary operand: {type(operand).__name__}")
        value = operand.value
        if not isinstance(value, (int, float, complex)):
            raise DecodeError(f"bad operand type for unary -: {type(value).__name__}")
        return -value
    if isinstance(node, ast.List):
        return [resolve_value(v, keep_positional) for v in node.elts]
    if isinstance(node, ast.Dict):
        out = {}
        for k, v in zip(node.keys, node.values, strict=True):
            if k is None:
                raise DecodeError("dict unpacking (**) is not supported")
            key = resolve_value(k, keep_positional)
            value = resolve_value(v, keep_positional)
            out[_hashable(key)] = value
        return out
    if isinstance(node, ast.BinOp):
        return fold_literal(node)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        if not node.keywords:
            return _unparse(node)
        return resolve_call(node, keep_positional)
    if isinstance(node, ast.Tuple):
        return tuple(resolve_value(v, keep_positional) for v in node.elts)
    if isinstance(node, ast.Lambda):
        raise UnsafeExpression("lambda expressions are not evaluated")
    if isinstance(node, ast.Subscript):
        return _unparse(node.value) + "[" + _unparse(node.slice) + "]"
    raise DecodeError(f"unsupported AST type: {type(node).__name__}")


def _hashable(key: Any) -> Any:
    try:
        hash(key)
    except TypeError:
        raise DecodeError(f"unhashable dict key of type {type(key).__name__}") from None
    return key


def _unparse(node: ast.AST) -> str:
    return ast.unparse(node)


# ---------------------------------------------------------------- literal folding

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
    ast.BitAnd: operator.and_,
    ast.MatMult: operator.matmul,
}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_UNARYOPS = {ast.UAdd: operator.pos, ast.USub: operator.neg, ast.Invert: operator.invert, ast.Not: operator.not_}


def fold_literal(node: ast.AST) -> Any:
    """Evaluate a literal-only expression with Python semantics, as BFCL's `eval` would.

    Only constants, containers of them and operators are allowed; sizes are
    checked before each operation so nothing can exhaust time or memory.
    """
    try:
        return _fold(node)
    except DecodeError:
        raise
    except RecursionError:
        raise DecodeError("expression nested too deeply") from None
    except Exception as exc:  # ZeroDivisionError, TypeError, OverflowError... as under eval
        raise DecodeError(f"{type(exc).__name__}: {exc}") from None


def _fold(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp):
        op = _UNARYOPS[type(node.op)]
        return op(_fold(node.operand))
    if isinstance(node, ast.BinOp):
        left, right = _fold(node.left), _fold(node.right)
        _check_size(type(node.op), left, right)
        result = _BINOPS[type(node.op)](left, right)
        _check_result(result)
        return result
    if isinstance(node, ast.List):
        return [_fold(e) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_fold(e) for e in node.elts)
    if isinstance(node, ast.Set):
        return {_fold(e) for e in node.elts}
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise UnsafeExpression("dict unpacking inside an expression is not evaluated")
        return {_fold(k): _fold(v) for k, v in zip(node.keys, node.values, strict=True)}
    if isinstance(node, ast.BoolOp):
        value = _fold(node.values[0])
        for nxt in node.values[1:]:
            if (not value) if isinstance(node.op, ast.And) else value:
                break
            value = _fold(nxt)
        return value
    if isinstance(node, ast.IfExp):
        return _fold(node.body) if _fold(node.test) else _fold(node.orelse)
    if isinstance(node, ast.Compare):
        left = _fold(node.left)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _fold(comp)
            if type(op) not in _COMPARE:
                raise UnsafeExpression("identity comparison is not evaluated")
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Subscript):
        return operator.getitem(_fold(node.value), _fold(node.slice))
    if isinstance(node, ast.Slice):
        parts = (node.lower, node.upper, node.step)
        return slice(*(None if p is None else _fold(p) for p in parts))
    raise UnsafeExpression(f"refusing to evaluate {type(node).__name__} inside an expression")


_DIGITS = re.compile(r"\d+")


def _int_bits(x: Any) -> int:
    return abs(int(x)).bit_length() if isinstance(x, int) else 0


def _seq_len(x: Any) -> int:
    return len(x) if isinstance(x, (str, bytes, list, tuple)) else 0


def _check_size(op: type, left: Any, right: Any) -> None:
    """Refuse operations whose result would be huge before computing them."""
    if op is ast.Pow and isinstance(left, int) and isinstance(right, int) and right > 0:
        if abs(left) > 1 and right * max(_int_bits(left) - 1, 1) > MAX_INT_BITS:
            raise UnsafeExpression("integer power too large")
    elif op is ast.LShift and isinstance(left, int) and isinstance(right, int) and left != 0:
        if right > MAX_INT_BITS:
            raise UnsafeExpression("shift too large")
    elif op is ast.Mult:
        if isinstance(left, int) and isinstance(right, int) and not isinstance(left, bool):
            if _int_bits(left) + _int_bits(right) > MAX_INT_BITS:
                raise UnsafeExpression("integer product too large")
        for seq, times in ((left, right), (right, left)):
            if _seq_len(seq) and isinstance(times, int) and times > 0:
                if _seq_len(seq) * times > MAX_SEQ_LEN:
                    raise UnsafeExpression("repeated sequence too long")
    elif op is ast.Mod and isinstance(left, (str, bytes)):
        # printf-style formatting: widths/precisions could ask for huge strings.
        fmt = left.decode("latin-1") if isinstance(left, bytes) else left
        widths = [int(w) for w in _DIGITS.findall(fmt)]
        if "*" in fmt or any(w > MAX_SEQ_LEN for w in widths):
            raise UnsafeExpression("string formatting with large or computed widths")


def _check_result(result: Any) -> None:
    if isinstance(result, int) and _int_bits(result) > MAX_INT_BITS:
        raise UnsafeExpression("integer result too large")
    if _seq_len(result) > MAX_SEQ_LEN:
        raise UnsafeExpression("sequence result too long")


__all__ = ["parse_calls", "preprocess", "fold_literal", "resolve_value", "resolve_call", "call_name", "attribute_chain"]
