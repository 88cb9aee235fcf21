"""One verdict per predicted call, with the original evaluator's error classes.

Flow (API-Bank evaluator_by_json): find `[Name(...)]` (else NO_API_CALL), parse
it (FAILED_PARSE_API_CALL), compare the name with the gold turn's
(API_NAME_MISMATCH), execute in a ToolEnv (INVALID_INPUT_PARAMETER,
MISS_INPUT_ARGUMENT), run the gold API's correctness rule on the response and
the recorded result (KEY_ERROR); a wrong call is then tallied as HAS_EXCEPTION,
OUTPUT_MISMATCH or INPUT_MISMATCH (or no class). UNHANDLED_EXCEPTION is ours:
it marks an error the original does not catch, which stops its whole run.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.apibank.original.env import InvalidParameterName, MissingArgument, ToolEnv
from harness.apibank.original.parse import find_call, parse_call
from harness.apibank.original.toolsearcher import ToolSearcherUnavailable

ERROR_CLASSES = (
    "NO_API_CALL",
    "API_NAME_MISMATCH",
    "HAS_EXCEPTION",
    "INPUT_MISMATCH",
    "OUTPUT_MISMATCH",
    "INVALID_INPUT_PARAMETER",
    "KEY_ERROR",
    "FAILED_PARSE_API_CALL",
    "MISS_INPUT_ARGUMENT",
    "UNHANDLED_EXCEPTION",
    "TOOLSEARCHER_UNAVAILABLE",  # ours: a stated skip, no offline embedding model installed
)
MODES = ("official", "stateful")


@dataclass
class CallVerdict:
    correct: bool
    error: str | None = None
    response: Any = None


def replay(env: ToolEnv, history: Any) -> None:
    """Stateful mode: re-run the dialogue's earlier API calls with their recorded arguments."""
    for turn in history:
        if turn.get("role") != "API" or turn.get("api_name") not in env.registry:
            continue
        try:
            response = env.execute(turn["api_name"], copy.deepcopy(turn.get("param_dict") or {}))
        except Exception:  # a recorded call that fails to replay leaves the state as it is
            continue
        env.tool(turn["api_name"]).adopt(turn.get("result") or {}, response)


def extract_call(pred: Any) -> tuple[str, dict[str, Any]] | CallVerdict:
    """The `[ApiName(...)]` call in a raw output, or the original's verdict when there is none or it won't parse."""
    span = find_call(pred if isinstance(pred, str) else "")
    if span is None:
        return CallVerdict(False, "NO_API_CALL")
    try:
        return parse_call(span)
    except ValueError:
        return CallVerdict(False, "FAILED_PARSE_API_CALL")


# An ordered exception -> error-class table, as one original evaluator's `except` clauses read;
# a label may depend on the message. Whatever matches no entry is UNHANDLED_EXCEPTION.
ErrorTable = tuple[tuple[type[BaseException], "str | Callable[[BaseException], str]"], ...]


def run_classified(action: Callable[[], Any], table: ErrorTable) -> tuple[Any, str | None]:
    """(action's result, None), or (None, the error class of the first table entry its exception is)."""
    try:
        return action(), None
    except Exception as exc:
        for kind, label in table:
            if isinstance(exc, kind):
                return None, label(exc) if callable(label) else label
        return None, "UNHANDLED_EXCEPTION"


def execute_and_check(execute: Callable[[], Any], check: Callable[[Any, Any], Any], gold_turn: dict[str, Any],
                      execute_errors: ErrorTable, check_errors: ErrorTable) -> CallVerdict:
    """Run the call, judge its response against a copy of the gold with the API's rule, classify as the original."""
    response, error = run_classified(execute, execute_errors)
    if error:
        return CallVerdict(False, error)
    gold = copy.deepcopy(gold_turn)  # rules may pop or normalise in place, as the originals do
    correct, error = run_classified(lambda: bool(check(response, gold)), check_errors)
    if error:
        return CallVerdict(False, error, response)
    return classify(correct, response, gold)


LEVEL12_EXECUTE_ERRORS: ErrorTable = (
    (InvalidParameterName, "INVALID_INPUT_PARAMETER"),
    (MissingArgument, "MISS_INPUT_ARGUMENT"),
    (ToolSearcherUnavailable, "TOOLSEARCHER_UNAVAILABLE"),
)
LEVEL12_CHECK_ERRORS: ErrorTable = (
    (KeyError, "KEY_ERROR"),
    (AssertionError,
     lambda exc: "API_NAME_MISMATCH" if "The API name is not correct." in str(exc) else "UNHANDLED_EXCEPTION"),
)


def judge_call(pred: str, gold_turn: dict[str, Any], env: ToolEnv) -> CallVerdict:
    """Verdict of a raw model output against one gold API turn, executed in `env`."""
    parsed = extract_call(pred)
    if isinstance(parsed, CallVerdict):
        return parsed
    name, args = parsed
    if name != gold_turn["api_name"]:
        return CallVerdict(False, "API_NAME_MISMATCH")
    return execute_and_check(lambda: env.execute(name, args), lambda r, g: env.tool(name).check(r, g),
                             gold_turn["result"], LEVEL12_EXECUTE_ERRORS, LEVEL12_CHECK_ERRORS)


def classify(correct: bool, response: dict[str, Any], gold: dict[str, Any]) -> CallVerdict:
    """The original evaluator's error class for an executed call that its rule judged `correct` or not."""
    if correct:
        return CallVerdict(True, None, response)
    if response["exception"]:
        return CallVerdict(False, "HAS_EXCEPTION", response)
    if response["output"] != gold["output"]:
        return CallVerdict(False, "OUTPUT_MISMATCH", response)
    if response["input"] != gold["input"]:
        return CallVerdict(False, "INPUT_MISMATCH", response)
    return CallVerdict(False, None, response)


def judge_in_context(pred: str, history: Any, gold_turn: dict[str, Any], databases: dict[str, Any], mode: str = "official") -> CallVerdict:
    """Fresh tools per call (official) or after replaying the dialogue so far (stateful)."""
    env = ToolEnv(databases)
    if mode == "stateful":
        replay(env, history)
    elif mode != "official":
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return judge_call(pred, gold_turn, env)
