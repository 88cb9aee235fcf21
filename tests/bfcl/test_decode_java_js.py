"""Java / JavaScript decoding agrees with BFCL's tree-sitter parsers on rendered ground truth."""

from __future__ import annotations

import json
import random

import pytest

from harness.bfcl import categories, data
from harness.bfcl.decode import DecodeError, decode_ast, is_empty_output
from tests.bfcl.test_decode_python import calls_from_answer, compare, perturbations


def java_value(v, style: int, rng) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v}L" if style % 3 == 1 else str(v)
    if isinstance(v, float):
        return f"{v}f" if style % 2 else repr(v)
    if isinstance(v, str):
        ident = v.replace(".", "").replace("_", "").isalnum() and not v[:1].isdigit()
        if ident and style % 2 == 0:
            return v
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        inner = ", ".join(java_value(x, style, rng) for x in v)
        return [f"Arrays.asList({inner})", f"new ArrayList<>(Arrays.asList({inner}))", f"new String[]{{{inner}}}"][style % 3]
    if isinstance(v, dict):
        puts = " ".join(f"put({java_value(str(k), 1, rng)}, {java_value(x, style, rng)});" for k, x in v.items())
        return f"new HashMap<String, Object>() {{{{ {puts} }}}}"
    return str(v)


def js_value(v, style: int, rng) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        quote = ['"', "'", ""][style % 3]
        if quote == "" and not v.replace("_", "").isalnum():
            quote = '"'
        return f"{quote}{v}{quote}" if quote != '"' else json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(js_value(x, style, rng) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {js_value(x, style, rng)}" for k, x in v.items()) + "}"
    return str(v)


def corpus_for(category: str) -> list[str]:
    rng = random.Random(category)
    render = java_value if category == "simple_java" else js_value
    texts = []
    for answer in data.load_answers(category).values():
        calls = calls_from_answer(answer, rng)
        for style in range(6):
            body = ", ".join(f"{n}({', '.join(f'{k}={render(v, style, rng)}' for k, v in a.items())})" for n, a in calls)
            texts += [f"[{body}]", body, f"```\n{body}\n```", f"```java\n{body}\n```", f" {body};", f"{body}\n"]
        texts += perturbations(texts[-6], rng)
        texts += [f"[{body}, {body}]", f"x = {body}", f"[{body}] garbage", f"[obj.{body}]", f"[{body.replace('=', ': ', 1)}]"]
    return texts


@pytest.mark.parametrize(("category", "language", "fmt"), [("simple_java", "java", "JAVA"), ("simple_javascript", "javascript", "JAVASCRIPT")])
def test_ground_truth_corpus_agrees_with_official(category, language, fmt):
    texts = corpus_for(category)
    n, mismatches, divergences = compare(texts, language, fmt)
    assert n >= 40 * categories.SHIPPED_COUNTS[category]
    assert not mismatches, mismatches[:5]
    assert not divergences


HANDPICKED = [
    "", "[]", "x", "f()", "f(a=1)", "obj.f(a=\"x\", b=new int[]{1, 2})", "f(a=\"é\", b=\"x\")", "f(a='c')",
    "foo(a=1, a=2)", "f(a=new int[5])", "f(a=new Foo())", "f(a=new Foo(1, \"x\"))", "f(a=Foo.class, b)",
    "a.b.c(x=y)", "f(a=1 + 2)", "f(a=x -> x)", "f(a=-1)", "f(a=null)", "f(a=true, true)", "f(a=\"unterminated)",
    "f(a=1); g(b=2)", "g(f(a=1))", "f(a=g(b=1))", "f(a=`tpl ${x}`)", "f(a={k: [1, {j: 2}]})", "f`x`",
    "f?.(a=1)", "new F(a=1)", "async () => f(a=1)", "f(a=')", "f(a=\"\")", "f(a='')", "f(a=\"\\\"q\")",
    "[f(a=1)]]", "[[f(a=1)]", "f(a=1)\n\ng(b=2)", "// c\nf(a=1)", "/* c */ f(a=1)", "f(a=1) // tail",
    "'f(a=1)'", "f(a=b=1)", "f(a+=1)", "f(a.b=1)", "f(a[0]=1)", "f(...a)", "f(a=1,)", "f(,)",
]


@pytest.mark.parametrize(("language", "fmt"), [("java", "JAVA"), ("javascript", "JAVASCRIPT")])
def test_handpicked_agree_with_official(language, fmt):
    n, mismatches, divergences = compare(HANDPICKED, language, fmt)
    assert not mismatches, mismatches
    assert not divergences


def test_java_known_values_and_quirks():
    decoded = decode_ast('obj.f(a="x", b=new int[]{1, 2}, c=Arrays.asList(1,2), d=true, e=1.5f)', "java")
    assert decoded == [{"obj.f": {"a": "x", "b": "new int[]{1,2}", "c": "Arrays.asList(1,2)", "d": "true", "e": "1.5f"}}]
    assert decode_ast("", "java") == {}  # BFCL returns a dict when no call is found
    assert is_empty_output(decode_ast("", "java"))
    with pytest.raises(DecodeError):
        decode_ast("foo(a=1, a=2)", "java")


def test_js_known_values_and_quirks():
    assert decode_ast("obj.m(a='q', b, c=[1,2])", "javascript") == [{"obj.m": {"a": "q", None: "b", "c": "[1,2]"}}]
    assert decode_ast("x", "javascript") is None  # BFCL returns None when no call is found
    with pytest.raises(DecodeError):
        decode_ast("f(a=\")", "javascript")
