"""Fuzzing: decoders only ever raise DecodeError, stay fast, and agree with BFCL on generated call syntax."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.bfcl.decode import (
    DecodeError,
    decode_ast,
    decode_execute,
    decode_llama_json,
    decode_mistral,
    decode_tool_call_tags,
)
from tests.bfcl.test_decode_python import compare

FAST = settings(max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
TOKENS = list("()[]{},=:'\"`\n .-+*/%<>~@!;") + ["f", "g", "a", "x", "1", "2.5", "1e3", "**", "lambda", "None", "True", "new ", "<tool_call>", "</tool_call>", '{"name": "f", "arguments": {}}', "[TOOL_CALLS]"]
token_text = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)
any_text = st.one_of(st.text(max_size=200), token_text)


@FAST
@given(any_text, st.sampled_from(["python", "java", "javascript", "json"]))
def test_decode_ast_only_raises_decode_error(text, language):
    try:
        decode_ast(text, language)
    except DecodeError:
        pass


@FAST
@given(any_text)
def test_other_decoders_only_raise_decode_error(text):
    for fn in (decode_execute, decode_llama_json, decode_mistral, decode_tool_call_tags):
        try:
            fn(text)
        except DecodeError:
            pass


# Python literals and calls, generated as source text.
names = st.text(alphabet=string.ascii_letters + "_", min_size=1, max_size=6).filter(lambda s: s not in {"None", "True", "False", "lambda", "not", "and", "or", "in", "is", "if", "else", "for", "def", "del", "pass", "from", "as", "with", "try", "class", "while", "global", "assert", "async", "await", "break", "import", "raise", "return", "yield", "elif", "except", "finally", "continue", "nonlocal", "match", "case"})
scalars = st.one_of(
    st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=False).map(repr), st.text(max_size=8).map(repr),
    st.sampled_from(["None", "True", "False", "...", "1e3", "-1.5", "+2", "~3", "not 1", "2*3", "10**2", "1/0", "'a'+'b'", "2**-1", "1j", "b'x'"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(inner, max_size=3).map(lambda xs: "(" + ", ".join(xs) + ("," if len(xs) == 1 else "") + ")"),
        st.lists(st.tuples(scalars, inner), max_size=3).map(lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"),
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(names, st.lists(st.tuples(names, inner), max_size=2)).map(lambda t: f"{t[0]}(" + ", ".join(f"{k}={v}" for k, v in t[1]) + ")"),
        names,
    ),
    max_leaves=8,
)
calls = st.tuples(st.lists(names, min_size=1, max_size=3).map(".".join), st.lists(st.tuples(names, values), max_size=4), st.lists(values, max_size=2)).map(
    lambda t: f"{t[0]}(" + ", ".join([*t[2], *(f'{k}={v}' for k, v in t[1])]) + ")"
)
outputs = st.tuples(st.lists(calls, max_size=3), st.sampled_from(["[{}]", "{}", "```\n[{}]\n```", " [{}] ", "[{}] x"])).map(
    lambda t: t[1].format(", ".join(t[0]))
)


@settings(max_examples=400, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(outputs)
def test_generated_python_agrees_with_official(text):
    _, mismatches, divergences = compare([text])
    assert not mismatches, mismatches
    assert not divergences, divergences
