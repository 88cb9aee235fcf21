"""One output call against one expected BFCL call: BFCL's first failure, plus a per-parameter diagnosis.

The call-level half of the single-turn checker (`checker.py` handles the list
of calls: format, count, simple/multiple/parallel matching). Parameters are
converted (Java/JS source text), type-checked and value-checked exactly as
BFCL's simple function checker does; the diagnosis (missing, extra, wrong
parameters) looks at all of them but never changes BFCL's verdict.
"""

from __future__ import annotations

from typing import Any

from harness.bfcl.checker_types import JAVA_TYPES, JS_TYPES, PY_TYPES
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
from harness.bfcl.java_types import convert_java
from harness.bfcl.js_types import convert_js

_PY_NESTED = ("array", "tuple")
_CONVERTED_NESTED = ("Array", "ArrayList", "array")


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
        ), unmatched_detail(expected_name, answers, required)

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


def unmatched_detail(expected_name: str, answers: dict, required: list) -> dict:
    """The diagnosis of an expected call no output call matched: every parameter it needs is missing."""
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


def call_score(detail: dict) -> float:
    """Partial credit of one diagnosed expected call: 0 unless its function was called, else its parameter share."""
    if not detail["name_ok"] or detail["matched_output_index"] is None:
        return 0.0
    return (1 + detail["params_ok"]) / (1 + detail["params_total"])
