"""Our Python-syntax decoder agrees with BFCL's `default_decode_ast_prompting` on a large corpus.

The corpus renders every ground-truth answer of every Python single-turn
category in many surface forms, plus perturbations, and requires identical
values (types included) or a failure on both sides. Anything BFCL would
`eval` with non-literal parts is never handed to the official decoder.
"""

from __future__ import annotations

import ast
import math
import os
import random
import time

import pytest

from harness.bfcl import categories, data
from harness.bfcl.decode import (
    DecodeError,
    UnsafeExpression,
    decode_ast,
    decode_calls,
    decode_execute,
    is_empty_output,
)
from harness.bfcl.decode_python import preprocess
from harness.types import Call
from tests.official_bfcl import official

PY_CATEGORIES = [c for c in categories.CATEGORIES if categories.language_of(c) == "python"]
_LITERAL_NODES = (
    ast.Constant, ast.UnaryOp, ast.BinOp, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.BoolOp, ast.Compare,
    ast.IfExp, ast.Subscript, ast.Slice, ast.operator, ast.unaryop, ast.boolop, ast.cmpop, ast.expr_context,
)


# ------------------------------------------------------------------ comparison helpers


def same(a, b) -> bool:
    """Equality that also requires equal types (1 vs 1.0 vs True) and treats nan as equal to nan."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def safe_for_official(text: str) -> bool:
    """False when BFCL's decoder would `eval` something other than literals (it must not run then).

    Walks only what BFCL evaluates: keyword values of the listed calls, into
    lists/tuples/dicts and nested calls that have keywords; a BinOp there must
    be made of literals only.
    """
    try:
        tree = ast.parse(preprocess(text).strip().strip("'"), mode="eval")
    except Exception:
        return True  # the official decoder fails at the same parse, before any eval
    body = tree.body
    roots = [body] if isinstance(body, ast.Call) else list(getattr(body, "elts", []))
    stack = [kw.value for call in roots if isinstance(call, ast.Call) for kw in call.keywords]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.BinOp):
            if not all(isinstance(n, _LITERAL_NODES) for n in ast.walk(node)):
                return False
        elif isinstance(node, (ast.List, ast.Tuple)):
            stack.extend(node.elts)
        elif isinstance(node, ast.Dict):
            stack.extend(k for k in node.keys if k is not None)
            stack.extend(node.values)
        elif isinstance(node, ast.Call) and node.keywords:
            stack.extend(kw.value for kw in node.keywords)
    return True


def run_official(text: str, fmt: str = "PYTHON"):
    o = official()
    try:
        return ("ok", o.decode_ast(text, getattr(o.ReturnFormat, fmt), False))
    except Exception as exc:  # any failure counts
        return ("err", type(exc).__name__)


def run_ours(text: str, language: str = "python"):
    try:
        return ("ok", decode_ast(text, language))
    except UnsafeExpression as exc:
        return ("unsafe", str(exc))
    except DecodeError:
        return ("err", None)


# Refusals of results past the documented size limits (docs/bfcl_decoding.md, "Results beyond our size limits"):
# BFCL computes them (a 585775**1000000 takes seconds and megabytes), we do not; not a divergence to report.
SIZE_LIMIT_REFUSALS = ("too large", "too long", "large or computed widths")


def compare(texts, language="python", fmt="PYTHON"):
    """Decode each text both ways; return (n, mismatches, divergences where we refused but BFCL decoded).

    A refusal for a result beyond the documented size limits is the documented divergence, not counted."""
    mismatches, divergences = [], []
    for text in texts:
        ours = run_ours(text, language)
        if language == "python" and not safe_for_official(text):
            assert ours[0] != "ok", text  # we never decode what BFCL would have to eval
            continue
        if ours[0] == "unsafe" and any(reason in ours[1] for reason in SIZE_LIMIT_REFUSALS):
            continue  # BFCL would spend seconds and megabytes computing it: not run here either
        ref = run_official(text, fmt)
        if ours[0] == "unsafe":
            if ref[0] == "ok":
                divergences.append(text)
            continue
        if ours[0] != ref[0] or (ours[0] == "ok" and not same(ours[1], ref[1])):
            mismatches.append((text, ours, ref))
    return len(texts), mismatches, divergences


# ------------------------------------------------------------------ rendering ground truth


def pick(options, rng):
    """One acceptable value from a possible-answer list, nested dict answers unwrapped."""
    usable = [o for o in options if o != ""]
    if not usable:
        return None
    return unwrap(rng.choice(usable), rng)


def unwrap(value, rng):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(v, list):
                chosen = pick(v, rng)
                if chosen is not None:
                    out[k] = chosen
            else:
                out[k] = v
        return out
    if isinstance(value, list):
        return [unwrap(v, rng) for v in value]
    return value


def calls_from_answer(answer, rng):
    calls = []
    for item in answer:
        for name, params in item.items():
            args = {}
            for p, options in params.items():
                v = pick(options, rng)
                if v is not None:
                    args[p] = v
            calls.append((name, args))
    return calls


def py_value(v, style: str, rng) -> str:
    """Python source for a value in one of several styles a model might use."""
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, int):
        if style == "arith" and 2 < abs(v) < 10**6:
            return f"{v - 1} + 1" if rng.random() < 0.5 else f"({v}*2)//2"
        if style == "neg" and v > 0:
            return f"-{v}"
        return repr(v)
    if isinstance(v, float):
        if style == "sci" and v != 0 and math.isfinite(v):
            return f"{v:e}"
        return repr(v)
    if isinstance(v, str):
        if style == "dq":
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
        return repr(v)
    if isinstance(v, list):
        inner = ", ".join(py_value(x, style, rng) for x in v)
        if style == "tuple":
            return f"({inner},)" if len(v) == 1 else f"({inner})"
        return f"[{inner}]" if style != "trailing" or not v else f"[{inner},]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{py_value(k, style, rng)}: {py_value(x, style, rng)}" for k, x in v.items()) + "}"
    return repr(v)


def py_call(name, args, style, rng) -> str:
    parts = [f"{k}={py_value(v, style, rng)}" for k, v in args.items()]
    if style == "positional" and parts:
        parts.insert(0, "'pos'")
    if style == "spaces":
        parts = [p.replace("=", " = ", 1) for p in parts]
    sep = ",\n    " if style == "indent" else ", "
    body = sep.join(parts)
    if style == "trailing" and parts:
        body += ","
    return f"{name}({body})"


STYLES = ["plain", "dq", "tuple", "neg", "sci", "arith", "positional", "spaces", "indent", "trailing"]


def renderings(calls, rng) -> list[str]:
    out = []
    for style in STYLES:
        rendered = [py_call(n, a, style, rng) for n, a in calls]
        joined = "[" + ", ".join(rendered) + "]"
        out.append(joined)
        if style == "indent":
            out.append("[\n  " + ",\n  ".join(rendered) + "\n]")
    base = "[" + ", ".join(py_call(n, a, "plain", rng) for n, a in calls) + "]"
    bare = ", ".join(py_call(n, a, "plain", rng) for n, a in calls)
    out += [
        bare,
        f"```\n{base}\n```",
        f"```python\n{base}\n```",
        f"`{base}`",
        f"  {base}\n\n",
        f"Sure! Here are the calls: {base}",
        f"{base} Let me know if you need more.",
        f"'{base}'",
        f"[{base}]",
        base.replace("[", "(", 1)[:-1] + ")" if base.startswith("[") else base,
        base + ";",
        f"\t{base}",
        "\n".join(py_call(n, a, "plain", rng) for n, a in calls),
        f"<tool_call>{base}</tool_call>",
    ]
    return out


def perturbations(text: str, rng) -> list[str]:
    cut = rng.randrange(len(text)) if text else 0
    return [
        text[:cut],
        text[: max(0, len(text) - 1)],
        text.replace(")", "", 1),
        text + ")",
        "(" + text,
        text + " garbage",
        text.replace("=", ":", 1),
        text.replace("'", '"', 1),
        text.replace(",", "", 1),
        text + "]",
    ]


def corpus_for(category: str, seed: int = 0) -> list[str]:
    rng = random.Random(f"{category}-{seed}")
    texts = []
    answers = data.load_answers(category)
    if answers:
        call_sets = [calls_from_answer(a, rng) for a in answers.values()]
    else:  # relevance: a call to the first function with a placeholder for each required param
        call_sets = []
        for entry in data.load_entries(category, language_hint=False):
            fn = entry["function"][0] if entry["function"] else {"name": "f", "parameters": {"required": []}}
            req = fn["parameters"].get("required", [])
            call_sets.append([(fn["name"], {p: rng.choice(["x", 1, 2.5, True, [1, 2], {"a": 1}]) for p in req})])
    for calls in call_sets:
        for text in renderings(calls, rng):
            texts.append(text)
        texts += perturbations(texts[-len(STYLES)], rng)
    return texts


# ------------------------------------------------------------------ agreement tests


@pytest.mark.parametrize("category", PY_CATEGORIES)
def test_ground_truth_corpus_agrees_with_official(category):
    n, mismatches, divergences = compare(corpus_for(category))
    assert n >= 30 * categories.SHIPPED_COUNTS[category]
    assert not mismatches, mismatches[:5]
    assert not divergences, divergences[:5]


HANDPICKED = [
    "", "[]", "[ ]", "``````", "```\n```", "f()", "[f()]", "f(a=1)", "f(a=1)\n", "```f(a=1)```",
    "f(a=+5)", "f(a=~5)", "f(a=not 0)", "f(a=-True)", "f(a=-(1))", "f(a=-(-1))", "f(a=- 1.5)", "f(a=-1j)",
    "f(a=-'x')", "f(a=-None)", "f(a=-x)", "f(a=-x.y)", "f(a=-x[0])",
    "f(a=2*3)", "f(a=10**2)", "f(a=2**-1)", "f(a=1/0)", "f(a=7//2)", "f(a=7%3)", "f(a='%s-%d' % ('a', 3))",
    "f(a='a'+'b')", "f(a='ab'*3)", "f(a=[1]+[2])", "f(a=(1,)+(2,))", "f(a={1:2}|{3:4})", "f(a={1,2}|{3})",
    "f(a=1+True)", "f(a=1.5e3*2)", "f(a=(1 if 1 else 2)+0)", "f(a=(1<2)+1)", "f(a=[1,2][0]+1)", "f(a='abc'[1:]+'d')",
    "f(a=b'x'+b'y')", "f(a=1@2)", "f(a=1<<3)", "f(a=-8>>1)", "f(a=6&3)", "f(a=6^3)", "f(a=6|3)",
    "f(a=(1 and 0)+1)", "f(a=('a' or 'b')+'c')", "f(a=2.0**10000)", "f(a=10**400)", "f(a=1e999)", "f(a=-1e999)",
    "f(a=...)", "f(a=None, b=True, c=False)", "f(a=b'bytes')", "f(a=1j)", "f(a=0x1F)", "f(a=1_000)",
    "f(a=x)", "f(a=x.y)", "f(a=x[0])", "f(a=x[1:2])", "f(a=x[a, b])", "f(a=g())", "f(a=g(1, 2))", "f(a=g(b=1))",
    "f(a=g(1, b=h(c=2)))", "f(a=lambda: 1)", "f(a=lambda x: x)", "f(a=[x for x in y])", "f(a={1, 2})",
    "f(a=f'x')", "f(a=(yield))", "f(a=*b)", "f(*a)", "f(**k)", "f(**{'a': 1})", "f(a=1, a=2)", "f(a={**d})",
    "f(a={[1]: 2})", "f(a={(1, 2): 3})", "f(a={1: 'a', True: 'b'})", "f(a={'k': [1, {'n': (2, 3)}]})",
    "a.b.c(x=1)", "a.b.c.d.e(x=1)", "x[0].f(a=1)", "f()(a=1)", "'s'.join(a=1)", "f(a=1), g(b=2)",
    "[f(a=1), g(b=2)]", "[f(a=1)], [g(b=2)]", "[f(a=1)][0]", "[f(a=1)] + [g()]", "[1, 2]", "['f(a=1)']",
    "[*f(a=1)]", "[f(a=1) for f in x]", "f(a=1) g(b=2)", "f(a=1);g(b=2)", "print('hello')",
    "The answer is 42.", "I cannot do that.", "[f(a='unterminated)]", "f(a=1\n, b=2)", "f(a='''x\ny''')",
    "f(a='x\\ny')", "f(a=\"quote's\")", "f(a='naïve ☃')", "f(a='\\u2603')", "f(a=1)\x00", "'f(a=1)'",
    "''", "'", "`", "[", "]", "][", "f(a=1,)", "[f(a=1),]", "[f(a=1),,]", "f(a=1)  ", "\r\nf(a=1)\r\n",
    "f(a=(1))", "f(a=((1,)))", "f(a=())", "f(a=[])", "f(a={})", "f(a=(-1, -2.5))", "f(a=[-1, +2])",
    "f(a=-0.0)", "f(a=0.1+0.2)", "f(a=3/2)", "f(a=2**0.5)", "f(a=(-8)**(1/3))", "f(a=1-1j)",
    "f(a=[1, 2] * 2)", "f(a='-' * 5)", "f(a=[[0] * 2] * 2)", "f(a=not x)", "f(a=(1, x)+(2,))",
]


def test_handpicked_agree_with_official():
    n, mismatches, divergences = compare(HANDPICKED)
    assert not mismatches, mismatches
    assert not divergences, divergences


def test_known_values():
    assert decode_ast("```\n[f(a=1, b='x')]\n```") == [{"f": {"a": 1, "b": "x"}}]
    assert decode_ast("f(1, 2, a=3)") == [{"f": {"a": 3}}]
    assert decode_ast("f(1, 2, a=3)", keep_positional=True) == [{"f": {0: 1, 1: 2, "a": 3}}]
    assert decode_ast("a.b.c(x=g(y=1), z=h(2))") == [{"a.b.c": {"x": {"g": {"y": 1}}, "z": "h(2)"}}]
    assert decode_ast("f(x=2*3, y=10**2, z=+5)") == [{"f": {"x": 6, "y": 100, "z": -5}}]
    assert decode_ast("") == []
    with pytest.raises(DecodeError):
        decode_ast("```python\n[f(a=1)]\n```")  # BFCL keeps the "python" tag and fails
    with pytest.raises(DecodeError):
        decode_ast("f(a=1)", "cobol")


def test_decode_calls_and_empty_output():
    assert decode_calls("[f(a=1), g()]") == [Call("f", {"a": 1}), Call("g", {})]
    assert decode_calls("[]") == []
    o = official()
    samples = [[], [{}], [{"f": {}}], [{"f": {"a": 1}}], [{"f": 1}], [{"f": {}, "g": {}}], None, {}, "x", [1], [{"f": {}}, {}]]
    for decoded in samples:
        assert is_empty_output(decoded) == o.is_empty_output(decoded), decoded


EXECUTE_CASES = [
    "f(a=1, b='x')", "[f(a=1), g(b=[1, 2], c={'k': 'v'})]", "f(a={'x': g(y=2)})", "f(a={})", "f(**{'a': 1})",
    "f(a=2**20000)", "f(a=(1, 2), b=None)", "f(a=g(b=1))", "f(a=g(1))", "cd(folder='document')", "sort('x')",
    "f(a=[{'k': 1}])", "f(a={'k': {}})", "f(a={'k': {'j': 1}})", "nope", "f(a=-1.5e3, b=True)",
]


def test_decode_execute_agrees_with_official():
    o = official()
    for text in EXECUTE_CASES + HANDPICKED[:60]:
        if not safe_for_official(text):
            continue
        try:
            ref = ("ok", o.decode_execute(text))
        except Exception:
            ref = ("err", None)
        try:
            ours = ("ok", decode_execute(text))
        except UnsafeExpression:
            continue
        except DecodeError:
            ours = ("err", None)
        assert ours == ref, text


# ------------------------------------------------------------------ security


PWNED = "/tmp/pwned_xyz_rest_harness"
HOSTILE = [
    f"[f(x=__import__('os').system('touch {PWNED}') or 1)]",
    f"[f(x=__import__('os').system('touch {PWNED}') + 1)]",
    f"[f(x=open('{PWNED}', 'w').write('x') * 2)]",
    f"[f(x=lambda: __import__('os').system('touch {PWNED}'))]",
    f"f(x=[__import__('os').system('touch {PWNED}')] + [1])",
    f"f(x=f'{{__import__(\"os\").system(\"touch {PWNED}\")}}' + '')",
    f"f(x=exec('import os; os.system(\"touch {PWNED}\")') + 1)",
    "f(x=9**9**9)", "f(x=10**10**10)", "f(x=1<<10**9)", "f(x=2**10**8)", "f(x=(10**5)**(10**5))",
    "f(x='a'*10**10)", "f(x=[0]*10**10)", "f(x=b'a'*10**10)", "f(x=10**100000*10**100000)",
    "f(x='%0999999999d' % 1)", "f(x='%*d' % (10**9, 1))", "f(x=(1,)*10**9)", "f(x=-(9**9**9))",
    "f(x=" + "(" * 500 + "1" + ")" * 500 + ")", "f(x=" + "-" * 5000 + "1)", "f(x=" + "+".join(["1"] * 3000) + ")",
    "[" * 10000, "f(" * 5000,
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_outputs_are_refused_quickly_without_side_effects(text):
    if os.path.exists(PWNED):
        os.remove(PWNED)
    start = time.perf_counter()
    for fn in (decode_ast, decode_execute, decode_calls):
        with pytest.raises(DecodeError):
            fn(text)
    assert time.perf_counter() - start < 2.0
    assert not os.path.exists(PWNED)


def test_calls_in_arguments_stay_text():
    # BFCL keeps a keyword-less call as its source text; it is never run.
    text = f"[f(x=(lambda: __import__('os').system('touch {PWNED}'))())]"
    assert decode_ast(text) == [{"f": {"x": f"(lambda: __import__('os').system('touch {PWNED}'))()"}}]
    assert not os.path.exists(PWNED)


def test_unsafe_expression_is_distinguishable():
    with pytest.raises(UnsafeExpression):
        decode_ast("f(x=9**9**9)")
    with pytest.raises(UnsafeExpression):
        decode_ast("f(x=y+1)")
    with pytest.raises(DecodeError) as info:
        decode_ast("f(x=y or 1)")
    assert not isinstance(info.value, UnsafeExpression)  # BFCL rejects BoolOp too: not a divergence
    assert issubclass(DecodeError, ValueError)
