"""Execute call strings against an `Environment` without eval, with BFCL's result strings.

BFCL prefixes every known method name in the call string with an instance
name and `eval`s the result. Here each call string is parsed with `ast`; only
a plain call of a public method of the entry's classes, with literal
arguments, is ever run. Results and error strings are formatted exactly as
`execute_multi_turn_func_call` formats them (str as is, dict as JSON, else
str(); exceptions as "Error during execution: ..."), so the checker's
response comparison sees the same strings. Positional arguments in a call
string are passed positionally (ground-truth strings use them); for model
output they have already been dropped by the decoder, as in BFCL.

Every call is bounded: `limits.check_arguments` refuses the literal arguments
that would make an environment compute without bound, and the environment's
`budget.Budget` caps each call's and the episode's wall-clock time. A refused
or over-budget call is an execution error string, as a crashing call is.
"""

from __future__ import annotations

import ast
import inspect
import json
from typing import Any

from harness.bfcl.decode_python import attribute_chain
from harness.bfcl.multi_turn.budget import OverBudget, alarm_scope
from harness.bfcl.multi_turn.env import Environment
from harness.bfcl.multi_turn.limits import ArgumentRefused, check_arguments

ERROR_PREFIX = "Error during execution: "
# BFCL refuses these callee names before evaluating anything.
BLOCKED_NAMES = frozenset({"kill", "exit", "quit", "remove", "unlink", "popen", "Popen", "run"})


class Refused(Exception):
    """A call we do not execute; its message is what the model sees after the error prefix."""


def format_result(result: Any) -> str:
    """BFCL's rendering of a return value for the model and for the response check."""
    if type(result) is str:
        return result
    if type(result) is dict:
        try:
            return json.dumps(result)
        except Exception:
            return str(result)
    return str(result)


def execute_calls(calls: list[str], env: Environment) -> list[str]:
    """Run each call string in order against `env`; one result string per call, never raises."""
    with alarm_scope():
        return [execute_one(call, env) for call in calls]


def execute_one(call: str, env: Environment) -> str:
    """One call's result string (an error string when refused, crashing or over budget)."""
    with alarm_scope():
        return _execute(call, env)


def _execute(call: str, env: Environment) -> str:
    try:
        method, args, kwargs = resolve(call, env)
    except Refused as exc:
        return ERROR_PREFIX + str(exc)
    try:
        return env.budget.run(lambda: format_result(method(*args, **kwargs)))
    except OverBudget as exc:
        return ERROR_PREFIX + str(exc)
    except Exception as exc:  # an environment raising is a message for the model, as in BFCL
        return ERROR_PREFIX + _message(exc)


def _message(exc: Exception) -> str:
    """str(exc), which hostile arguments can make raise in turn (e.g. an int too long to print)."""
    try:
        return str(exc)
    except Exception:
        return type(exc).__name__


def resolve(call: str, env: Environment) -> tuple[Any, list[Any], dict[str, Any]]:
    """The bound method and literal arguments of one call string, or `Refused`."""
    if not isinstance(call, str):
        raise Refused(f"expected a call string, got {type(call).__name__}")
    head = call.split("(")[0]
    base = head.split(".")[1] if "." in head else head
    if base in BLOCKED_NAMES:
        raise Refused(f"Function call {base} is not allowed.")
    try:
        tree = ast.parse(call, mode="eval", filename="<string>")
    except SyntaxError as exc:
        raise Refused(str(exc)) from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise Refused(f"unparsable call: {exc}") from None
    node = tree.body
    if not isinstance(node, ast.Call):
        raise Refused("only function calls are executed")
    names = [kw.arg for kw in node.keywords if kw.arg is not None]
    for i, kw_name in enumerate(names):
        if kw_name in names[:i]:  # Python's compiler (not its parser) rejects this, before running anything
            raise Refused(f"keyword argument repeated: {kw_name} (<string>, line 1)")
    name = _callee(node.func)
    if "." in name:
        raise Refused(f"name '{name.split('.')[0]}' is not defined")
    method = env.methods.get(name)
    if method is None:
        raise Refused(f"name '{name}' is not defined")
    args = [_literal(arg) for arg in node.args]
    kwargs: dict[str, Any] = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise Refused("argument unpacking (**) is not executed; pass literal keyword arguments")
        kwargs[kw.arg] = _literal(kw.value)
    try:
        check_arguments(name, method, args, kwargs)
    except ArgumentRefused as exc:
        raise Refused(str(exc)) from None
    return method, args, kwargs


def _callee(func: ast.AST) -> str:
    base, attrs = attribute_chain(func)
    if isinstance(base, ast.Name):
        return ".".join([base.id, *attrs])
    raise Refused("only calls of environment functions by name are executed")


def _literal(node: ast.AST) -> Any:
    """A literal value (str, bytes, numbers, bool, None, list, tuple, dict, set); anything else is refused."""
    if isinstance(node, ast.Starred):
        raise Refused("argument unpacking (*) is not executed; pass literal arguments")
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            raise Refused("nested calls are not executed; pass literal values as arguments")
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            raise Refused(f"name '{sub.id}' is not defined")
    try:
        return ast.literal_eval(node)
    except TypeError as exc:  # e.g. unhashable dict key, as Python would report it
        raise Refused(str(exc)) from None
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise Refused(
            "only literal arguments are executed (strings, numbers, booleans, None, lists, dicts, tuples)"
        ) from None


def keyword_call(call: str, env: Environment) -> str:
    """Rewrite a trusted call string's positional arguments as keywords, using the method's signature.

    Used to replay ground truth through BFCL's keyword-only decoder (it drops
    positional arguments). Values are re-rendered with repr, as decode_execute does.
    """
    node = ast.parse(call, mode="eval").body
    if not isinstance(node, ast.Call) or not node.args:
        return call
    name = _callee(node.func)
    params = list(inspect.signature(env.methods[name]).parameters)
    pairs = [(params[i], ast.literal_eval(a)) for i, a in enumerate(node.args)]
    pairs += [(kw.arg, ast.literal_eval(kw.value)) for kw in node.keywords]
    return f"{name}(" + ", ".join(f"{k}={v!r}" for k, v in pairs) + ")"
