"""BFCL's multi-turn check, re-implemented over our own environments and executor.

Same verdict as `multi_turn_checker` (first failing turn decides, same
error types): for every turn the model's steps and the ground truth are
executed on two separate environments that persist across turns; for each
turn with non-empty ground truth the model turn must be non-empty, then
every public attribute of every instance must be equal (state check), then
the ground truth's results for this turn must be a sub-multiset of all the
model's results so far (response check). Unlike BFCL, checking continues
after the first failure so `detail["turns"]` grades every turn (a reward
can use it); that never changes `valid`/`error_type`.
"""

from __future__ import annotations

from typing import Any

from harness.bfcl.multi_turn.budget import alarm_scope
from harness.bfcl.multi_turn.data import is_long_context
from harness.bfcl.multi_turn.env import Environment, public_state
from harness.bfcl.multi_turn.executor import execute_calls
from harness.types import Verdict

EMPTY_TURN = "multi_turn:empty_turn_model_response"
STATE_MISMATCH = "multi_turn:instance_state_mismatch"
RESPONSE_MISMATCH = "multi_turn:execution_response_mismatch"

_MISSING = object()


def is_empty_turn(steps: list[list[str]]) -> bool:
    """BFCL's `is_empty_execute_response`: no step, or a single step with no call."""
    return len(steps) == 0 or (len(steps) == 1 and len(steps[0]) == 0)


def state_differences(model_env: Environment, gt_env: Environment) -> dict[str, dict[str, Any]]:
    """{class: {attr: {"model", "ground_truth"}}} for the first class whose public state differs, else {}."""
    for class_name, gt_instance in gt_env.instances.items():
        model_instance = model_env.instances[class_name]
        diffs = {}
        for attr, gt_value in public_state(gt_instance).items():
            model_value = getattr(model_instance, attr, _MISSING)
            if model_value is _MISSING or _differs(model_value, gt_value):
                diffs[attr] = {"model": _show(model_value), "ground_truth": _show(gt_value)}
        if diffs:
            return {class_name: diffs}
    return {}


def _differs(model_value: Any, gt_value: Any) -> bool:
    """`!=`, where a state too deep to compare (hundreds of nested directories) counts as different.

    Ground-truth state is never that deep, so only a hostile model's state gets here.
    """
    try:
        return bool(model_value != gt_value)
    except RecursionError:
        return True


def _show(value: Any) -> Any:
    if value is _MISSING:
        return "<missing>"
    try:
        text = repr(value)
    except (ValueError, RecursionError) as exc:  # an int too long to print, a tree too deep
        return f"<unprintable: {type(exc).__name__}>"
    return text if len(text) <= 500 else text[:500] + "..."


def missing_results(all_model_results: list[str], gt_results: list[str]) -> list[str]:
    """Ground-truth results not matched, one model result consumed per match (order ignored)."""
    pool = list(all_model_results)
    missing = []
    for item in gt_results:
        try:
            pool.remove(item)
        except ValueError:
            missing.append(item)
    return missing


def check_decoded(
    entry: dict[str, Any],
    model_turns: list[list[list[str]]],
    ground_truth: list[list[str]],
    category: str | None = None,
) -> Verdict:
    """Check decoded model turns (turn -> step -> call strings) against the ground-truth turns.

    `entry` needs `initial_config`, `involved_classes` and `id`; the category
    (long-context mode) defaults to the one in the id. Model turns beyond the
    ground truth are ignored, as in BFCL; fewer turns raise ValueError (BFCL
    fails such entries earlier, as force-terminated).
    """
    if len(model_turns) < len(ground_truth):
        raise ValueError(f"{len(model_turns)} model turns for {len(ground_truth)} ground-truth turns")
    with alarm_scope():  # one SIGALRM handler for every call of the check (see budget.py)
        return _check(entry, model_turns, ground_truth, category)


def _check(entry: dict[str, Any], model_turns: list[list[list[str]]], ground_truth: list[list[str]],
           category: str | None) -> Verdict:
    category = category or entry["id"].rsplit("_", 1)[0]
    long_context = is_long_context(category)
    model_env = Environment.for_entry(entry, long_context)
    gt_env = Environment.for_entry(entry, long_context)
    all_model_results: list[str] = []
    turns: list[dict[str, Any]] = []
    first: Verdict | None = None
    for index, gt_calls in enumerate(ground_truth):
        steps = model_turns[index]
        model_results = [execute_calls(step, model_env) for step in steps]
        gt_results = execute_calls(gt_calls, gt_env)
        for results in model_results:
            all_model_results.extend(results)
        turn: dict[str, Any] = {"turn": index, "gt_calls": len(gt_calls), "model_calls": sum(map(len, steps)),
                                "checked": bool(gt_calls), "valid": None}
        turns.append(turn)
        if not gt_calls:
            continue
        failure = _turn_failure(index, steps, model_env, gt_env, all_model_results, gt_results, turn)
        turn["valid"] = failure is None
        if failure is not None and first is None:
            first = failure
    checked = [t for t in turns if t["checked"]]
    prefix = 0
    for t in checked:
        if not t["valid"]:
            break
        prefix += 1
    detail = {
        "turns": turns,
        "checked_turns": len(checked),
        "passed_turns": sum(1 for t in checked if t["valid"]),
        "passed_prefix": prefix,
    }
    if first is None:
        return Verdict(valid=True, detail=detail)
    first.detail.update(detail)
    return first


def _turn_failure(
    index: int,
    steps: list[list[str]],
    model_env: Environment,
    gt_env: Environment,
    all_model_results: list[str],
    gt_results: list[str],
    turn: dict[str, Any],
) -> Verdict | None:
    if is_empty_turn(steps):
        turn["error_type"] = EMPTY_TURN
        return Verdict(False, EMPTY_TURN, [f"Model response list is empty for turn {index}"],
                       {"failed_turn": index})
    diffs = state_differences(model_env, gt_env)
    if diffs:
        turn["error_type"] = STATE_MISMATCH
        class_name = next(iter(diffs))
        return Verdict(False, STATE_MISMATCH,
                       [f"Model instance for {class_name} does not match the state with ground truth instance."],
                       {"failed_turn": index, "differences": diffs})
    missing = missing_results(all_model_results, gt_results)
    if missing:
        turn["error_type"] = RESPONSE_MISMATCH
        return Verdict(False, RESPONSE_MISMATCH,
                       [f"Model response execution results so far does not contain all the ground truth "
                        f"response execution results for turn {index}."],
                       {"failed_turn": index, "missing_items": missing[:20]})
    return None
