"""Targeted checker behaviours, each compared with the official checker where it has an opinion."""

from __future__ import annotations

import contextlib
import copy
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.bfcl.checker import check_ast, check_relevance, is_empty_output
from harness.bfcl.checker_call import call_score
from harness.bfcl.java_types import convert_java
from harness.bfcl.js_types import convert_js
from harness.types import Verdict
from tests.official_bfcl import official

LANG = {"python": "PYTHON", "java": "JAVA", "javascript": "JAVASCRIPT"}


def doc(name="f", props=None, required=None):
    props = props or {"a": {"type": "integer"}}
    return {"name": name, "description": "", "parameters": {"type": "dict", "properties": props, "required": required or []}}


def both(functions, decoded, answer, category="simple_python", language="python"):
    """Our verdict and the official (valid, error_type), asserting they agree."""
    o = official()
    ours = check_ast(functions, decoded, answer, language, category)
    with contextlib.redirect_stdout(io.StringIO()):
        r = o.ast_checker(functions, copy.deepcopy(decoded), answer, getattr(o.Language, LANG[language]), category, "m")
    assert (ours.valid, ours.error_type) == (r["valid"], None if r["valid"] else r["error_type"])
    return ours


def test_int_accepted_for_float_but_not_float_for_int():
    fns = [doc(props={"x": {"type": "float"}, "n": {"type": "integer"}}, required=["x", "n"])]
    ans = [{"f": {"x": [10.0], "n": [5]}}]
    assert both(fns, [{"f": {"x": 10, "n": 5}}], ans).valid
    v = both(fns, [{"f": {"x": 10.0, "n": 5.0}}], ans)
    assert v.error_type == "type_error:simple"
    assert v.detail["calls"][0]["wrong"] == {"n": "type_error:simple"}


def test_strings_are_case_and_punctuation_insensitive():
    fns = [doc(props={"s": {"type": "string"}}, required=["s"])]
    ans = [{"f": {"s": ["New York, NY"]}}]
    assert both(fns, [{"f": {"s": "new york ny"}}], ans).valid
    assert both(fns, [{"f": {"s": "new-york/ny."}}], ans).valid
    assert both(fns, [{"f": {"s": "Boston"}}], ans).error_type == "value_error:string"


def test_optional_parameter_rules():
    fns = [doc(props={"a": {"type": "integer"}, "b": {"type": "string"}, "c": {"type": "integer"}}, required=["a"])]
    ans = [{"f": {"a": [1], "b": ["x", ""], "c": [3]}}]
    assert both(fns, [{"f": {"a": 1, "c": 3}}], ans).valid
    v = both(fns, [{"f": {"a": 1}}], ans)
    assert v.error_type == "simple_function_checker:missing_optional"
    assert v.detail["calls"][0]["missing"] == ["c"]
    assert both(fns, [{"f": {"c": 3}}], ans).error_type == "simple_function_checker:missing_required"
    v = both(fns, [{"f": {"a": 1, "c": 3, "zzz": 1}}], ans)
    assert v.error_type == "simple_function_checker:unexpected_param"
    assert v.detail["calls"][0]["extra"] == ["zzz"]


def test_first_error_follows_official_order_but_detail_sees_all():
    fns = [doc(props={"a": {"type": "integer"}, "b": {"type": "string"}}, required=["a", "b"])]
    ans = [{"f": {"a": [1], "b": ["x"]}}]
    v = both(fns, [{"f": {"b": 5, "a": 2}}], ans)
    assert v.error_type == "type_error:simple"  # b comes first in the output
    assert v.detail["calls"][0]["wrong"] == {"b": "type_error:simple", "a": "value_error:others"}
    assert v.detail["calls"][0]["params_ok"] == 0


def test_dict_missing_key_overrides_value_error():
    fns = [doc(props={"d": {"type": "dict"}}, required=["d"])]
    ans = [{"f": {"d": [{"k": ["v"], "m": [1]}]}}]
    assert both(fns, [{"f": {"d": {"k": "V", "m": 1}}}], ans).valid
    assert both(fns, [{"f": {"d": {"k": "w", "m": 1}}}], ans).error_type == "value_error:dict_value"
    assert both(fns, [{"f": {"d": {"k": "w"}}}], ans).error_type == "value_error:dict_key"


def test_list_order_matters_and_nested_type_is_checked():
    fns = [doc(props={"l": {"type": "array", "items": {"type": "integer"}}}, required=["l"])]
    ans = [{"f": {"l": [[1, 2]]}}]
    assert both(fns, [{"f": {"l": [1, 2]}}], ans).valid
    assert both(fns, [{"f": {"l": [2, 1]}}], ans).error_type == "value_error:list/tuple"
    assert both(fns, [{"f": {"l": ["1", 2]}}], ans).error_type == "type_error:nested"


def test_list_of_dicts_with_non_dict_item_is_a_documented_divergence():
    """BFCL raises AttributeError (aborting its run); we report type_error:nested."""
    o = official()
    fns = [doc(props={"l": {"type": "array", "items": {"type": "dict"}}}, required=[])]
    ans = [{"f": {"l": ["", [{"k": ["v"]}]]}}]
    decoded = [{"f": {"l": ["not a dict"]}}]
    with pytest.raises(AttributeError):
        o.ast_checker(fns, decoded, ans, o.Language.PYTHON, "simple_python", "m")
    v = check_ast(fns, decoded, ans, "python", "simple_python")
    assert (v.valid, v.error_type) == (False, "type_error:nested")


def test_parallel_greedy_quirk_is_reproduced():
    """The first expected call grabs the first passing output, even if a later one needed it."""
    fns = [doc(props={"a": {"type": "integer"}}, required=[])]
    ans = [{"f": {"a": [1, ""]}}, {"f": {"a": [1]}}]
    v = both(fns, [{"f": {"a": 1}}, {"f": {}}], ans, category="parallel")
    assert v.error_type == "parallel_function_checker_no_order:cannot_find_match"
    assert both(fns, [{"f": {}}, {"f": {"a": 1}}], ans, category="parallel").valid
    assert both(fns, [{"f": {"a": 1}}], ans, category="parallel").error_type == "parallel_function_checker_no_order:wrong_count"


def test_multiple_uses_the_expected_functions_doc():
    fns = [doc("g", {"b": {"type": "string"}}, ["b"]), doc("f", {"a": {"type": "integer"}}, ["a"])]
    ans = [{"f": {"a": [1]}}]
    assert both(fns, [{"f": {"a": 1}}], ans, category="multiple").valid
    assert both(fns, [{"g": {"b": "x"}}], ans, category="multiple").error_type == "simple_function_checker:wrong_func_name"
    assert both(fns, [], ans, category="multiple").error_type == "multiple_function_checker:wrong_count"


def test_java_and_javascript_arguments_must_be_source_strings():
    jfns = [doc(props={"n": {"type": "long"}, "b": {"type": "boolean"}}, required=["n", "b"])]
    jans = [{"f": {"n": [5], "b": [True]}}]
    assert both(jfns, [{"f": {"n": "5L", "b": "true"}}], jans, "simple_java", "java").valid
    assert both(jfns, [{"f": {"n": "5", "b": "true"}}], jans, "simple_java", "java").error_type == "type_error:simple"
    assert both(jfns, [{"f": {"n": 5, "b": True}}], jans, "simple_java", "java").error_type == "type_error:java"
    sfns = [doc(props={"ok": {"type": "Boolean"}, "xs": {"type": "array", "items": {"type": "String"}}}, required=["ok", "xs"])]
    sans = [{"f": {"ok": [True], "xs": [["a", "b"]]}}]
    assert both(sfns, [{"f": {"ok": "true", "xs": "['a', 'b']"}}], sans, "simple_javascript", "javascript").valid
    assert both(sfns, [{"f": {"ok": True, "xs": "['a']"}}], sans, "simple_javascript", "javascript").error_type == "type_error:js"


def test_wrong_output_shape_and_relevance():
    fns = [doc()]
    ans = [{"f": {"a": [1]}}]
    v = check_ast(fns, {}, ans, "python", "simple_java")
    assert v.error_type == "ast_decoder:decoder_wrong_output_format"
    assert check_ast(fns, [{"f": 1}], ans, "python", "simple_python").error_type == "ast_decoder:decoder_wrong_output_format"
    assert is_empty_output([]) and is_empty_output([{}]) and is_empty_output(None) and not is_empty_output([{"f": {}}])
    assert check_relevance(None, "irrelevance").valid
    assert check_relevance([{}], "live_irrelevance").valid
    assert check_relevance([{"f": {}}], "irrelevance").error_type == "irrelevance_error:decoder_success"
    assert check_relevance([{"f": {}}], "live_relevance").valid
    assert check_relevance([], "live_relevance").error_type == "relevance_error:decoder_failed"


def partial_credit(verdict: Verdict) -> float:
    """A reward in [0, 1] built from the verdict's diagnosis: 1 iff valid, else the mean per-call parameter
    accuracy over max(#expected, #output) calls, capped below 1 (what a partial-credit reward would read)."""
    if verdict.valid:
        return 1.0
    calls = verdict.detail.get("calls") or []
    if not calls:
        return 0.0
    denom = max(verdict.detail.get("n_expected", len(calls)), verdict.detail.get("n_output", 0), 1)
    return min(sum(call_score(c) for c in calls) / denom, 0.99)


def test_partial_credit():
    fns = [doc(props={"a": {"type": "integer"}, "b": {"type": "integer"}}, required=["a", "b"])]
    ans = [{"f": {"a": [1], "b": [2]}}]
    assert partial_credit(check_ast(fns, [{"f": {"a": 1, "b": 2}}], ans, "python", "simple_python")) == 1.0
    half = partial_credit(check_ast(fns, [{"f": {"a": 1, "b": 3}}], ans, "python", "simple_python"))
    none = partial_credit(check_ast(fns, [{"f": {"a": 0, "b": 3}}], ans, "python", "simple_python"))
    wrong_name = partial_credit(check_ast(fns, [{"g": {"a": 1, "b": 2}}], ans, "python", "simple_python"))
    extra_call = partial_credit(check_ast(fns, [{"f": {"a": 1, "b": 2}}, {"f": {"a": 1, "b": 2}}], ans, "python", "simple_python"))
    assert 0 == wrong_name < none < half < 1
    assert 0 < extra_call < 1
    assert partial_credit(Verdict(valid=False, error_type="ast_decoder:decoder_failed")) == 0.0
    p_ans = [{"f": {"a": [1], "b": [2]}}, {"f": {"a": [3], "b": [4]}}]
    one_of_two = check_ast(fns, [{"f": {"a": 1, "b": 2}}, {"f": {"a": 3, "b": 0}}], p_ans, "python", "parallel")
    assert [c["matched_output_index"] for c in one_of_two.detail["calls"]] == [0, 1]
    assert 0.5 < partial_credit(one_of_two) < 1


def test_no_global_state_or_model_name():
    """Unlike the official checker, ours needs no model registry and gives the same answer every time."""
    fns = [doc("a.b", {"x": {"type": "integer"}}, ["x"])]
    ans = [{"a.b": {"x": [1]}}]
    out = [{"a_b": {"x": 1}}]
    assert not check_ast(fns, out, ans, "python", "simple_python").valid
    assert check_ast(fns, out, ans, "python", "simple_python", underscore_to_dot=True).valid
    assert not check_ast(fns, out, ans, "python", "simple_python").valid  # no state carried over
    assert check_ast(fns, [{"a.b": {"x": 1}}], ans, "python", "simple_python").valid


# ------------------------------------------------------------------ converters vs official, fuzzed

_ALPHABET = st.sampled_from(list("0123456789-+.eEfFlLn \"'[]{}(),:;<>abtrusHMpAyiLwN") + ["true", "false", "new ", "ArrayList<>", "Arrays.asList(", "HashMap<>()", "put(", "add(", "{{", "}}", "int[]", "\n"])
_TEXT = st.lists(_ALPHABET, max_size=25).map("".join)
JAVA_CASES = [("integer", None), ("long", None), ("float", None), ("double", None), ("boolean", None), ("char", None), ("String", None), ("any", None), ("HashMap", None), ("ArrayList", "String"), ("ArrayList", "integer"), ("ArrayList", "char"), ("Array", "integer"), ("Array", "long"), ("Array", "String"), ("ArrayList", "any")]
JS_CASES = [("String", None), ("integer", None), ("float", None), ("Bigint", None), ("Boolean", None), ("dict", None), ("array", None), ("array", "String"), ("array", "integer"), ("array", "float"), ("any", None)]


def _outcome(fn, *args):
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return ("ok", fn(*args))
    except Exception as exc:  # noqa: BLE001
        return ("raise", type(exc).__name__)


def _same(a, b):
    return a == b and repr(a) == repr(b)  # also distinguishes 1 / 1.0 / True


@settings(max_examples=400, deadline=None)
@given(text=_TEXT, case=st.sampled_from(JAVA_CASES))
def test_java_converter_matches_official(text, case):
    from bfcl_eval.eval_checker.ast_eval.type_convertor.java_type_converter import java_type_converter

    official()
    assert _same(_outcome(convert_java, text, *case), _outcome(java_type_converter, text, *case))


@settings(max_examples=400, deadline=None)
@given(text=_TEXT, case=st.sampled_from(JS_CASES))
def test_js_converter_matches_official(text, case):
    from bfcl_eval.eval_checker.ast_eval.type_convertor.js_type_converter import js_type_converter

    official()
    assert _same(_outcome(convert_js, text, *case), _outcome(js_type_converter, text, *case))


@pytest.mark.parametrize(
    ("text", "case"),
    [
        ("new ArrayList<>(Arrays.asList(1, 2))", ("ArrayList", "integer")),
        ('new ArrayList<String>() {{ add("a"); add("b"); }}', ("ArrayList", "String")),
        ("new int[]{1, 2, 3}", ("Array", "integer")),
        ('new HashMap<String, Object>() {{ put("k", 1); put("s", "v"); }}', ("HashMap", None)),
        ("3.5f", ("float", None)),
        ("9L", ("long", None)),
    ],
)
def test_java_collections_examples(text, case):
    from bfcl_eval.eval_checker.ast_eval.type_convertor.java_type_converter import java_type_converter

    official()
    assert _same(convert_java(text, *case), java_type_converter(text, *case))


@pytest.mark.parametrize(
    ("text", "case"),
    [
        ("[[1, 2], [3, 4]]", ("array", None)),
        ("['a', \"b\"]", ("array", "String")),
        ("new Array(1, 2)", ("array", "integer")),
        ("{a: 1, b: 'x', c: [1, 2], d: {e: true}}", ("dict", None)),
        ("12n", ("Bigint", None)),
    ],
)
def test_js_collections_examples(text, case):
    from bfcl_eval.eval_checker.ast_eval.type_convertor.js_type_converter import js_type_converter

    official()
    assert _same(convert_js(text, *case), js_type_converter(text, *case))
