"""Per-parameter type and value rules of BFCL's AST checker.

Each function returns `None` when the value passes, else `(error_type, message)`
with BFCL's error_type vocabulary. Python's own `==`/`in` semantics are part of
BFCL's behaviour (`1 == 1.0 == True`), so comparisons deliberately use them.
The order in which alternatives are tried and which error is reported when
several apply follow the official checker, since only the first error of a
call becomes the verdict.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

Failure = tuple[str, str] | None

_STRIP = re.compile(r"[ \,\.\/\-\_\*\^]")


@lru_cache(maxsize=65536)
def standardize(text: str) -> str:
    """Drop spaces and `,./-_*^`, lowercase, and turn ' into ": BFCL's lenient string form."""
    return _STRIP.sub("", text).lower().replace("'", '"')


def _std(x: Any) -> Any:
    return standardize(x) if type(x) is str else x


def answer_type(answers: list) -> type | None:
    """Type of the first non-optional alternative: BFCL's hint for 'variable' answers."""
    for ans in answers:
        if ans != "":
            return type(ans)
    return None


def check_type(value: Any, answers: list, expected: type, item_type: type | None) -> tuple[Failure, bool]:
    """BFCL's type_checker: (failure, is_variable).

    A possible answer whose type differs from the declared type marks the
    parameter as a "variable" (compared raw later); a value of the answers'
    type is then accepted. Lists are checked one level deep against each
    list alternative; a non-list alternative (e.g. "") passes vacuously.
    """
    ans_type = answer_type(answers)
    is_variable = ans_type is not None and ans_type is not expected
    nested_failed = False
    if type(value) is expected:
        if item_type is None:
            return None, is_variable
        for alt in answers:
            ok = True
            if type(alt) is list:
                for item in value:
                    if check_type(item, alt, item_type, None)[0] is not None:
                        ok = False
                        break
            if ok:
                return None, is_variable
        nested_failed = True
    if ans_type is not None and type(value) is ans_type:
        if nested_failed:
            return ("type_error:nested", f"Nested type checking failed. Expected inner type {item_type.__name__}."), True
        return None, True
    return (
        "type_error:simple",
        f"Incorrect type. Expected {expected.__name__}, got {type(value).__name__}. Value: {value!r}.",
    ), is_variable


def check_string(value: str, answers: list) -> Failure:
    target = standardize(value)
    for ans in answers:
        if type(ans) is str and standardize(ans) == target:
            return None
    return "value_error:string", f"Invalid value {value!r}. Expected one of {answers}. Case insensitive."


def check_list(value: list, answers: list) -> Failure:
    got = [_std(x) for x in value]
    # An alternative is iterated element-wise even when it is not a list
    # ("" becomes [], a string becomes its characters), as BFCL does.
    for ans in answers:
        if got == [_std(x) for x in ans]:
            return None
    return "value_error:list/tuple", f"Invalid value {value!r}. Expected one of {answers}."


class NotADict(Exception):
    """A list-of-dicts element that is not a dict (BFCL itself crashes here)."""


def _dict_against(value: dict, ans: Any) -> Failure:
    if not isinstance(value, dict):
        raise NotADict(repr(value))
    failure: Failure = None
    for key, val in value.items():
        if key not in ans:
            failure = ("value_error:dict_key", f"Unexpected dict key parameter: {key!r}.")
            break
        options = [_std(x) for x in ans[key]]
        if _std(val) not in options:
            failure = ("value_error:dict_value", f"Invalid value for {key!r}: {val!r}. Expected one of {options}.")
            break
    # BFCL checks for missing keys even after a failure above, and a missing
    # key then overrides the reported error type.
    for key, opts in ans.items():
        if key not in value and "" not in opts:
            return "value_error:dict_key", f"Missing dict key parameter: {key!r}."
    return failure


def check_dict(value: dict, answers: list) -> Failure:
    """Key-by-key against each dict alternative; the last alternative's error is reported."""
    failure: Failure = ("dict_checker:unclear", "No dict alternative to compare with.")
    for ans in answers:
        if ans == "":
            continue
        failure = _dict_against(value, ans)
        if failure is None:
            return None
    return failure


def check_list_of_dicts(value: list, answers: list) -> Failure:
    """Same length and dict-by-dict in order against each alternative."""
    failure: Failure = ("list_dict_checker:unclear", "No list alternative to compare with.")
    for ans in answers:
        if len(value) != len(ans):
            failure = ("value_error:list_dict_count", "Wrong number of dictionaries in the list.")
            continue
        failure = None
        for item, expected in zip(value, ans, strict=True):
            failure = check_dict(item, [expected])
            if failure is not None:
                break
        if failure is None:
            return None
    return failure


def check_raw(value: Any, answers: list) -> Failure:
    if value in answers:
        return None
    return "value_error:others", f"Invalid value {value!r}. Expected one of {answers}."
