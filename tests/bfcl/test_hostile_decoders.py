"""Issue 22 items 2 and 3: hostile model text is a decode failure, never a crash, a hang or gigabytes.

Anything that could crash or hang runs in a child process (`tests.isolated`),
so a regression fails the test instead of killing pytest (exit 139).
"""

from __future__ import annotations

import random

import pytest

from tests.bfcl.test_decode_python import compare
from tests.isolated import Isolated

DECODE = "harness.bfcl.decode:decode_ast"


@pytest.fixture(scope="module")
def child():
    runner = Isolated()
    yield runner
    runner.close()


DEEP_JAVA_JS = [
    ("java", "obj.f(a=new int[]" + "{" * 20_000 + "1" + "}" * 20_000 + ")"),
    ("java", "obj.f(a=new int[]" + "{" * 60_000 + "1" + "}" * 60_000 + ")"),
    ("javascript", "f(a=" + "[" * 20_000 + "1" + "]" * 20_000 + ")"),
    ("javascript", "f(a=" + "1+" * 20_000 + "1)"),  # operators nest too: no bracket at all
    ("javascript", "f(a=" + "!" * 30_000 + "1)"),
    ("java", "obj.f(a=" + "-" * 60_000 + "1)"),
]


@pytest.mark.parametrize("language,text", DEEP_JAVA_JS, ids=lambda v: v[:24] if isinstance(v, str) else v)
def test_deeply_nested_java_and_js_is_a_decode_error_not_a_segfault(child, language, text):
    outcome = child.call(DECODE, text, language, timeout=60)
    assert outcome.kind != "crashed", f"decoder crashed the process (exit {outcome.exitcode})"
    assert outcome.raised("InputTooLarge"), outcome
    assert outcome.seconds < 5, outcome


def _nested_java(depth: int) -> str:
    return "obj.f(a=new int[]" + "{" * depth + "1" + "}" * depth + ", b=\"x\")"


def _nested_js(depth: int) -> str:
    return "f(a=" + "[" * depth + "1" + "]" * depth + ", b=\"x\")"


@pytest.mark.parametrize("depth", [1, 5, 40, 150])
def test_nesting_below_the_limit_decodes_as_bfcl_does(depth):
    for language, fmt, text in (("java", "JAVA", _nested_java(depth)), ("javascript", "JAVASCRIPT", _nested_js(depth))):
        n, mismatches, divergences = compare([text], language, fmt)
        assert mismatches == [] and divergences == [], (language, depth)


def test_python_text_over_the_size_limit_fails_fast_in_bounded_memory():
    runner = Isolated()  # fresh child: its peak RSS is this call's
    try:
        baseline = runner.call("harness.bfcl.decode_limits:check_text", "x").peak_rss_mb
        outcome = runner.call(DECODE, "[" + "[]," * 1_000_000 + "]", "python", timeout=120)
        assert outcome.raised("InputTooLarge"), outcome
        assert "too long" in outcome.value
        assert outcome.peak_rss_mb - baseline < 150, outcome  # ast.parse alone took 1.4 GB here
        assert outcome.seconds < 5, outcome
    finally:
        runner.close()


def test_python_text_just_under_the_limit_is_parsed_in_bounded_memory():
    from harness.bfcl.decode_limits import MAX_TEXT_CHARS

    runner = Isolated()
    try:
        baseline = runner.call("harness.bfcl.decode_limits:check_text", "x").peak_rss_mb
        text = "[f(a=[" + "0," * ((MAX_TEXT_CHARS - 20) // 2) + "])]"
        outcome = runner.call(DECODE, text, "python", timeout=120)
        assert outcome.kind == "returned", outcome
        assert outcome.peak_rss_mb - baseline < 250, outcome
    finally:
        runner.close()


def test_python_nesting_past_the_parser_limits_is_a_clear_decode_error(child):
    for text in ("f(a=" + "-" * 100_000 + "1)", "f(a=" + "not " * 40_000 + "1)", "f(a=" + "1+" * 30_000 + "1)",
                 "f(a=" + "[" * 600 + "]" * 600 + ")"):
        outcome = child.call(DECODE, text, "python", timeout=60)
        assert outcome.raised("DecodeError"), outcome
        assert "nested" in outcome.value or "too long" in outcome.value, outcome


def test_the_size_limit_applies_to_every_entry_point(child):
    huge = "[f(a=" + "1," * 150_000 + ")]"
    for target, args in (("harness.bfcl.decode:decode_execute", (huge,)),
                         ("harness.bfcl.decode_python:parse_calls", (huge,)),
                         ("harness.bfcl.decode:decode_ast", (huge, "java")),
                         ("harness.bfcl.decode:decode_ast", (huge, "json")),
                         ("harness.bfcl.decode_native:decode_llama_json", (huge,)),
                         ("harness.bfcl.decode_native:decode_mistral", (huge,)),
                         ("harness.bfcl.decode_native:decode_tool_call_tags", ("<tool_call>\n" + huge,))):
        outcome = child.call(target, *args, timeout=60)
        assert outcome.raised("InputTooLarge"), (target, outcome)


QUADRATIC = [
    ("harness.bfcl.decode:decode_ast", ("[{" * 60_000, "json"), {}),
    ("harness.bfcl.decode:decode_ast", ("[{}, " * 30_000 + "{", "json"), {}),
    ("harness.bfcl.decode_native:decode_tool_call_tags", ("<tool_call>\n" * 15_000,), {}),
    ("harness.bfcl.decode_native:decode_tool_call_tags", ("<tool_call> " * 15_000,), {"lenient": True}),
]


@pytest.mark.parametrize("target,args,kwargs", QUADRATIC, ids=["json [{", "json [{},", "tags", "tags lenient"])
def test_bfcl_regexes_run_in_linear_time_on_unclosed_openings(child, target, args, kwargs):
    outcome = child.call(target, *args, timeout=30, **kwargs)
    assert outcome.kind in ("returned", "raised") and outcome.seconds < 2, outcome


def test_linear_scans_equal_bfcl_regexes_on_random_text():
    from harness.bfcl.decode_native import (
        _JSON_LIST,
        _TOOL_CALL,
        _TOOL_CALL_LENIENT,
        json_list_span,
        tool_call_blocks,
    )

    rng = random.Random(22)
    json_tokens = ["[", "]", "{", "}", ",", " ", "x", "\n", "[{", "}]", "}, {", "\u2003", '"a"', ":"]
    tag_tokens = ["<tool_call>", "</tool_call>", "\n", " ", "x", "\u2003", "<tool_call>\n", "\n</tool_call>", "\t", "{}"]
    for _ in range(20_000):
        text = "".join(rng.choice(json_tokens) for _ in range(rng.randint(0, 16)))
        match = _JSON_LIST.search(text)
        assert json_list_span(text) == (match.group(0) if match else None), repr(text)
        text = "".join(rng.choice(tag_tokens) for _ in range(rng.randint(0, 12)))
        assert tool_call_blocks(text) == _TOOL_CALL.findall(text), repr(text)
        assert tool_call_blocks(text, lenient=True) == _TOOL_CALL_LENIENT.findall(text), repr(text)


def test_a_parse_that_runs_too_long_is_cut_off_and_the_parser_still_works(child):
    # Found by the fuzzer: tree-sitter's Java error recovery is quadratic here (about a minute unbounded).
    text = "\x0b\U000588efV\x9e9" * 20_000 + "(-([],"
    outcome = child.call(DECODE, text, "java", timeout=30)
    assert outcome.raised("InputTooLarge") and "to parse" in outcome.value, outcome
    assert outcome.seconds < 5, outcome
    outcome = child.call(DECODE, 'obj.f(a="x", b=new int[]{1, 2})', "java", timeout=30)
    assert outcome.result == [{"obj.f": {"a": "x", "b": "new int[]{1,2}"}}], outcome  # BFCL joins without spaces
