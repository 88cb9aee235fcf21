"""BFCL single-turn AST and relevance checking, verdict-for-verdict equal to the official checker.

Pure functions over decoded calls (`[{"name": {"param": value}}]`). Besides
BFCL's verdict (valid + the *first* error, in BFCL's order and vocabulary) we
record for every expected call which parameters are missing, extra or wrong,
so a reward can give partial credit. That diagnosis looks at all parameters,
but never changes the verdict: the verdict is derived from it in exactly the
order the official checker stops. This module checks the list of calls
(format, count, simple/multiple/parallel matching) and relevance; one call
against one expected call is `checker_call.check_call`.
"""

from __future__ import annotations

from typing import Any

from harness.bfcl.checker_call import Failure, call_score, check_call, unmatched_detail
from harness.bfcl.decode import is_empty_output, is_function_calling_format
from harness.types import Verdict

LANGUAGES = ("python", "java", "javascript")


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
                if best is None or call_score(detail) > call_score(best):
                    best = detail
        if best is None or not best["name_ok"]:
            name, answers = next(iter(answer.items()))
            best = dict(unmatched_detail(name, answers, doc["parameters"]["required"] if doc else []), ok=False)
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
    if not is_function_calling_format(decoded):
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
