"""BFCL single-turn AST and relevance checking, verdict-for-verdict equal to the official checker.

Pure functions over decoded calls (`[{"name": {"param": value}}]`). Besides
BFCL's verdict (valid + the *first* error, in BFCL's order and vocabulary) we
record for every expected call which parameters are missing, extra or wrong,
so a reward can give partial credit. That diagnosis looks at all parameters,
but never changes the verdict: the verdict is derived from it in exactly the
order the official checker stops.
"""

from __future__ import annotations

from typing import Any

from harness.bfcl.checker_values import (
    Failure,
    NotADict,
    check_dict,
    check_list,
    check_list_of_dicts,
    check_raw,
    check_string,
    check_type,
)
from harness.bfcl.java_types import JAVA_TYPES, convert_java
from harness.bfcl.js_types import JS_TYPES, convert_js
from harness.types import Verdict

PY_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_PY_NESTED = ("array", "tuple")
_CONVERTED_NESTED = ("Array", "ArrayList", "array")
LANGUAGES = ("python", "java", "javascript")
RELEVANCE_CATEGORIES = ("irrelevance", "live_irrelevance", "live_relevance")


def is_call_format(decoded: Any) -> bool:
    """BFCL's is_function_calling_format_output: a list of one-key dicts whose value is a dict."""
    if type(decoded) is not list:
        return False
    for item in decoded:
        if type(item) is not dict or len(item) != 1:
            return False
        for params in item.values():
            if type(params) is not dict:
                return False
    return True


def is_empty_output(decoded: Any) -> bool:
    """BFCL's relevance notion of 'no call': not call-shaped, `[]`, or `[{}]`."""
    if not is_call_format(decoded):
        return True
    return len(decoded) == 0 or (len(decoded) == 1 and len(decoded[0]) == 0)


def _check_param(value: Any, prop: dict, answers: list, language: str) -> Failure:
    """Type conversion, type check and value check of one parameter, BFCL's way."""
    declared = prop["type"]
    item_cls = None
    if language == "python":
        expected = PY_TYPES[declared]
        if declared in _PY_NESTED:
            item_cls = PY_TYPES[prop["items"]["type"]]
        if declared == "float" and type(value) is int:
            value = float(value)  # int is accepted for float, not the reverse
    else:
        java = language == "java"
        table = JAVA_TYPES if java else JS_TYPES
        expected = table[declared]
        if type(value) is not str:
            tag = "java" if java else "js"
            return f"type_error:{tag}", f"Expected a {language} source string, got {type(value).__name__}: {value!r}."
        convert = convert_java if java else convert_js
        if declared in _CONVERTED_NESTED:
            item_type = prop["items"]["type"]
            item_cls = table[item_type]
            value = convert(value, declared, item_type)
        else:
            value = convert(value, declared)
    if declared == "tuple" and type(value) is tuple:
        value = list(value)

    failure, is_variable = check_type(value, answers, expected, item_cls)
    if failure is not None:
        return failure
    if not is_variable:
        if expected is dict:
            return check_dict(value, answers)
        if expected is list and item_cls is dict:
            return check_list_of_dicts(value, answers)
        if expected is str:
            return check_string(value, answers)
        if expected is list:
            return check_list(value, answers)
    return check_raw(value, answers)


def check_call(
    doc: dict, output: dict, answer: dict, language: str, underscore_to_dot: bool = False
) -> tuple[Failure, dict]:
    """One output call against one expected call: (BFCL's first failure or None, diagnosis)."""
    expected_name, answers = next(iter(answer.items()))
    name = doc["name"]
    if underscore_to_dot and "." in name:
        name = name.replace(".", "_")
    spec = doc["parameters"]
    props = spec["properties"]
    required = spec["required"]
    if name not in output:
        return (
            "simple_function_checker:wrong_func_name",
            f"Function name {name!r} not found in model output.",
        ), _unmatched_detail(expected_name, answers, required)

    params = output[name]
    first: Failure = None
    wrong: dict[str, str] = {}
    extra: list = []
    ok = 0
    for param, value in params.items():
        if param not in props or param not in answers:
            extra.append(param)
            failure: Failure = ("simple_function_checker:unexpected_param", f"Unexpected parameter: {param!r}.")
        else:
            try:
                failure = _check_param(value, props[param], answers[param], language)
            except NotADict as exc:
                # BFCL raises AttributeError here and aborts the whole run; we report a type error.
                failure = ("type_error:nested", f"List-of-dicts parameter {param!r} holds a non-dict item {exc}.")
            if failure is None:
                ok += 1
                continue
            wrong[param] = failure[0]
        if first is None:
            first = (failure[0], f"{param}: {failure[1]}")

    missing: list = []
    total = len(params)
    for p in required:
        if p not in params:
            missing.append(p)
            total += 1
    missing_required = missing[0] if missing else None
    missing_optional = None
    for p, alts in answers.items():
        if p in params or p in required:
            continue
        total += 1
        if "" in alts:
            ok += 1  # correctly omitted optional parameter
        else:
            missing.append(p)
            if missing_optional is None:
                missing_optional = p
    detail = {
        "name": expected_name,
        "name_ok": True,
        "matched_output_index": None,
        "missing": missing,
        "extra": extra,
        "wrong": wrong,
        "params_total": total,
        "params_ok": ok,
    }
    if missing_required is not None:
        return ("simple_function_checker:missing_required", f"Missing required parameter: {missing_required!r}."), detail
    if first is not None:
        return first, detail
    if missing_optional is not None:
        return (
            "simple_function_checker:missing_optional",
            f"Optional parameter {missing_optional!r} not provided and not marked as optional.",
        ), detail
    return None, detail


def _unmatched_detail(expected_name: str, answers: dict, required: list) -> dict:
    universe = dict.fromkeys(answers)
    universe.update(dict.fromkeys(required))
    return {
        "name": expected_name,
        "name_ok": False,
        "matched_output_index": None,
        "missing": [p for p in universe if p in required or "" not in answers.get(p, ())],
        "extra": [],
        "wrong": {},
        "params_total": len(universe),
        "params_ok": 0,
    }


def _doc_name(doc: dict, u2d: bool) -> str:
    name = doc["name"]
    return name.replace(".", "_") if u2d and "." in name else name


def _find_doc(functions: Any, name: str) -> dict | None:
    if type(functions) is list:
        for doc in functions:
            if doc["name"] == name:
                return doc
        return None
    return functions


def _call_score(detail: dict) -> float:
    if not detail["name_ok"] or detail["matched_output_index"] is None:
        return 0.0
    return (1 + detail["params_ok"]) / (1 + detail["params_total"])


def _best_effort(
    functions: Any,
    decoded: list,
    possible_answer: list,
    language: str,
    u2d: bool,
    taken: dict[int, dict],
    cache: dict | None = None,
) -> list[dict]:
    """Diagnose expected calls not in `taken` against their best still-unused output (partial credit only)."""
    used = {d["matched_output_index"] for d in taken.values()}
    cache = cache or {}
    out = []
    for i, answer in enumerate(possible_answer):
        if i in taken:
            out.append(taken[i])
            continue
        doc = _find_doc(functions, next(iter(answer)))
        best = None
        if doc is not None:
            name = _doc_name(doc, u2d)
            for j, call in enumerate(decoded):
                if j in used or name not in call:  # a wrong name scores 0 anyway
                    continue
                failure, detail = cache.get((i, j)) or check_call(doc, call, answer, language, u2d)
                detail = dict(detail, matched_output_index=j)
                detail["ok"] = failure is None
                if best is None or _call_score(detail) > _call_score(best):
                    best = detail
        if best is None or not best["name_ok"]:
            name, answers = next(iter(answer.items()))
            best = dict(_unmatched_detail(name, answers, doc["parameters"]["required"] if doc else []), ok=False)
        else:
            used.add(best["matched_output_index"])
        out.append(best)
    return out


def _verdict(failure: Failure, calls: list[dict], decoded: list, possible_answer: list) -> Verdict:
    detail = {"calls": calls, "n_expected": len(possible_answer), "n_output": len(decoded)}
    if failure is None:
        return Verdict(valid=True, detail=detail)
    return Verdict(valid=False, error_type=failure[0], errors=[failure[1]], detail=detail)


def check_ast(
    functions: list[dict],
    decoded: Any,
    possible_answer: list[dict],
    language: str,
    category: str,
    *,
    underscore_to_dot: bool = False,
) -> Verdict:
    """Check decoded calls against BFCL possible answers exactly as `bfcl evaluate` does.

    Includes the runner's format check before the AST checker. `language` is
    "python", "java" or "javascript"; `category` picks the mode by substring
    ("parallel" -> any-order, "multiple" -> pick doc by expected name, else
    simple), as BFCL does. `underscore_to_dot` mirrors a model config whose
    function names had "." replaced by "_".
    """
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; expected one of {LANGUAGES}")
    if not is_call_format(decoded):
        return Verdict(
            valid=False,
            error_type="ast_decoder:decoder_wrong_output_format",
            errors=["Did not output in the specified format."],
            detail={"calls": [], "n_expected": len(possible_answer), "n_output": 0},
        )
    u2d = underscore_to_dot
    if "parallel" in category:
        return _parallel(functions, decoded, possible_answer, language, u2d)
    if "multiple" in category:
        if len(decoded) != len(possible_answer):
            calls = _best_effort(functions, decoded, possible_answer, language, u2d, {})
            return _verdict(("multiple_function_checker:wrong_count", "Wrong number of functions."), calls, decoded, possible_answer)
        doc = _find_doc(functions, next(iter(possible_answer[0])))
        failure, detail = check_call(doc, decoded[0], possible_answer[0], language, u2d)
    else:
        if len(decoded) != 1:
            calls = _best_effort(functions[0], decoded, possible_answer[:1], language, u2d, {})
            return _verdict(("simple_function_checker:wrong_count", "Wrong number of functions."), calls, decoded, possible_answer)
        failure, detail = check_call(functions[0], decoded[0], possible_answer[0], language, u2d)
    detail["matched_output_index"] = 0
    detail["ok"] = failure is None
    return _verdict(failure, [detail], decoded, possible_answer)


def _parallel(functions: list, decoded: list, possible_answer: list, language: str, u2d: bool) -> Verdict:
    """Any-order matching with BFCL's greedy rule: each expected call takes the first unused output that passes."""
    if len(decoded) != len(possible_answer):
        calls = _best_effort(functions, decoded, possible_answer, language, u2d, {})
        return _verdict(
            ("parallel_function_checker_no_order:wrong_count", "Wrong number of functions."), calls, decoded, possible_answer
        )
    taken: dict[int, dict] = {}
    used: set[int] = set()
    cache: dict[tuple[int, int], tuple[Failure, dict]] = {}
    failure: Failure = None
    for i, answer in enumerate(possible_answer):
        doc = _find_doc(functions, next(iter(answer)))
        name = _doc_name(doc, u2d)
        for j, call in enumerate(decoded):
            if j in used or name not in call:  # BFCL's check would stop at wrong_func_name
                continue
            call_failure, detail = cache[i, j] = check_call(doc, call, answer, language, u2d)
            if call_failure is None:
                detail["matched_output_index"] = j
                detail["ok"] = True
                taken[i] = detail
                used.add(j)
                break
        if i not in taken and failure is None:
            left = [j for j in range(len(decoded)) if j not in used]
            failure = (
                "parallel_function_checker_no_order:cannot_find_match",
                f"Could not find a matching function among index {left} of model output for index {i} of possible answers.",
            )
    calls = _best_effort(functions, decoded, possible_answer, language, u2d, taken, cache) if failure else [
        taken[i] for i in range(len(possible_answer))
    ]
    return _verdict(failure, calls, decoded, possible_answer)


def check_relevance(decoded: Any, category: str, decode_error: str | None = None) -> Verdict:
    """irrelevance/live_irrelevance: correct iff no call; live_relevance: correct iff some call.

    `decoded` is None when decoding failed (then `decode_error` says why).
    """
    has_call = decoded is not None and not is_empty_output(decoded)
    detail = {"has_call": has_call}
    if "irrelevance" in category:
        if not has_call:
            return Verdict(valid=True, detail=detail)
        return Verdict(
            valid=False,
            error_type="irrelevance_error:decoder_success",
            errors=["Valid syntax. Successfully decode AST when it should not."],
            detail=detail,
        )
    if has_call:
        return Verdict(valid=True, detail=detail)
    return Verdict(
        valid=False,
        error_type="relevance_error:decoder_failed",
        errors=[f"Invalid syntax. Failed to decode AST when it should have. {decode_error or ''}".rstrip()],
        detail=detail,
    )


def partial_credit(verdict: Verdict) -> float:
    """A reward in [0, 1]: 1 iff valid, else the mean per-call parameter accuracy (< 1).

    Each expected call scores (1 + params_ok) / (1 + params_total) when the
    right function was called, 0 otherwise; the sum is divided by
    max(#expected, #output) so missing and extra calls both cost.
    """
    if verdict.valid:
        return 1.0
    calls = verdict.detail.get("calls") or []
    if not calls:
        return 0.0
    denom = max(verdict.detail.get("n_expected", len(calls)), verdict.detail.get("n_output", 0), 1)
    return min(sum(_call_score(c) for c in calls) / denom, 0.99)
