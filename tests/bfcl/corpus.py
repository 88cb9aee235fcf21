"""A deterministic corpus of BFCL single-turn model outputs for agreement tests and the checker bench.

Every entry of the 13 single-turn categories yields several outputs: its
ground truth rendered as a model would write it (Python call syntax, or
Java / JavaScript argument literals for the java/js categories; every
possible-answer alternative; optional parameters omitted; code fences and
surrounding text) and perturbed (wrong values and types, missing / extra
parameters and calls, swapped and duplicated calls, string case and
punctuation, list order, nested dict edits, positional args, dotted names,
truncation, garbage). Relevance categories get calls and plain text. A few
"unsafe" outputs (which BFCL would `eval`) must never reach the official side.
The corpus is a pure function of the shipped data and `seed`.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

AST_CATEGORIES = (
    "simple_python",
    "simple_java",
    "simple_javascript",
    "multiple",
    "parallel",
    "parallel_multiple",
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
)
RELEVANCE_CATEGORIES = ("irrelevance", "live_irrelevance", "live_relevance")
CATEGORIES = AST_CATEGORIES + RELEVANCE_CATEGORIES


@dataclass(frozen=True)
class Case:
    category: str
    index: int  # position of the entry in the category file
    kind: str  # which rendering / perturbation produced the text
    text: str


@cache
def load(category: str) -> tuple[list[dict], list[dict] | None]:
    """(entries, ground truths) as `bfcl evaluate` loads them (no language hints)."""
    from tests.official_bfcl import official

    o = official()
    entries = o.load_dataset_entry(category, include_prereq=False, include_language_specific_hint=False)
    answers = None if category in RELEVANCE_CATEGORIES else o.load_ground_truth_entry(category)
    return entries, answers


# ---------------------------------------------------------------- materialising ground truth


def _choose(alts: list, rng: random.Random, mode: str) -> Any:
    """One alternative of a possible-answer list; `_OMIT` for an optional parameter left out."""
    real = [a for a in alts if a != ""]
    if "" in alts and (mode == "minimal" or (mode == "random" and rng.random() < 0.5) or not real):
        return _OMIT
    if not real:
        return _OMIT
    return real[0] if mode == "first" else rng.choice(real)


_OMIT = object()


def _unwrap(value: Any, rng: random.Random, mode: str) -> Any:
    """Dicts in possible answers map keys to option lists; lists of such dicts likewise."""
    if isinstance(value, dict):
        out = {}
        for k, opts in value.items():
            v = _choose(opts, rng, mode) if isinstance(opts, list) else opts
            if v is not _OMIT:
                out[k] = v
        return out
    if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        return [_unwrap(x, rng, mode) for x in value]
    return value


def materialise(gt_call: dict, rng: random.Random, mode: str) -> tuple[str, dict]:
    name, params = next(iter(gt_call.items()))
    args = {}
    for p, alts in params.items():
        v = _choose(alts, rng, mode)
        if v is not _OMIT:
            args[p] = _unwrap(v, rng, mode)
    return name, args


# ---------------------------------------------------------------- rendering


def py_call(name: str, args: dict, positional: tuple = ()) -> str:
    parts = [repr(v) for v in positional] + [f"{k}={v if isinstance(v, Raw) else repr(v)}" for k, v in args.items()]
    return f"{name}({', '.join(parts)})"


class Raw(str):
    """Argument text inserted verbatim (Java/JS literals, deliberately odd syntax)."""


def java_literal(v: Any, decl: str, item: str | None, style: int) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if decl == "long" and isinstance(v, int):
        return f"{v}L" if style % 3 else str(v)
    if decl == "float" and isinstance(v, (int, float)):
        return f"{v}f" if style % 3 else str(v)
    if decl == "double" and isinstance(v, (int, float)):
        return repr(float(v))
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        items = [java_literal(x, item or "any", None, style) if not isinstance(x, str) else json.dumps(x) for x in v]
        if decl == "Array":
            return f"new {'int' if item == 'integer' else (item or 'Object')}[]{{{', '.join(items)}}}"
        if style % 2:
            return f"new ArrayList<>(Arrays.asList({', '.join(items)}))"
        return "new ArrayList<>() {{ " + " ".join(f"add({x});" for x in items) + " }}"
    if isinstance(v, dict):
        puts = " ".join(f"put({json.dumps(str(k))}, {java_literal(x, 'any', None, style)});" for k, x in v.items())
        return f"new HashMap<String, String>() {{{{ {puts} }}}}"
    if isinstance(v, str):
        if style % 2 and re.fullmatch(r"[A-Za-z_][\w.]*", v):
            return v  # an identifier / qualified name
        return json.dumps(v)
    return json.dumps(v)


def js_literal(v: Any, decl: str, style: int) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if decl == "Bigint" and isinstance(v, int):
        return f"{v}n"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(js_literal(x, "any", style) if not isinstance(x, str) else _js_str(x, style) for x in v) + "]"
    if isinstance(v, dict):
        body = ", ".join(f"{k}: {js_literal(x, 'any', style) if not isinstance(x, str) else _js_str(x, style)}" for k, x in v.items())
        return "{" + body + "}"
    if isinstance(v, str):
        if decl == "any" and style % 2 and re.fullmatch(r"[A-Za-z_$][\w$.]*(\(\))?", v):
            return v
        return _js_str(v, style)
    return json.dumps(v)


def _js_str(s: str, style: int) -> str:
    return "'" + s.replace("'", "\\'") + "'" if style % 2 else json.dumps(s)


def _props(functions: list[dict], name: str) -> dict:
    for f in functions:
        if f["name"] == name:
            return f["parameters"]["properties"]
    return {}


def render_args(language: str, functions: list[dict], name: str, args: dict, style: int) -> dict:
    if language == "python":
        return args
    props = _props(functions, name)
    out = {}
    for k, v in args.items():
        decl = props.get(k, {}).get("type", "any")
        item = props.get(k, {}).get("items", {}).get("type")
        out[k] = Raw(java_literal(v, decl, item, style) if language == "java" else js_literal(v, decl, style))
    return out


def wrap(calls: list[str], style: int) -> str:
    body = "[" + ", ".join(calls) + "]"
    if len(calls) == 1 and style % 4 == 1:
        body = calls[0]  # bare call without brackets
    return [body, f"```python\n{body}\n```", f"```\n{body}\n```", f" {body}\n"][style % 4] if style % 5 else body


# ---------------------------------------------------------------- perturbations


def _alter_str(s: str, rng: random.Random) -> str:
    ops = [
        lambda t: t.upper(),
        lambda t: t.replace(" ", "_"),
        lambda t: t + ".",
        lambda t: t[::-1],
        lambda t: t + " x",
        lambda t: t.replace(",", ", "),
        lambda t: "'" + t + "'",
        lambda t: t[:-1],
        lambda t: "",
    ]
    return rng.choice(ops)(s)


def _wrong_value(v: Any, rng: random.Random) -> Any:
    if isinstance(v, bool):
        return rng.choice([not v, int(v), "true" if v else "false", None])
    if isinstance(v, int):
        return rng.choice([v + 1, float(v), str(v), -v, [v], True])
    if isinstance(v, float):
        return rng.choice([v + 0.5, int(v) if v == int(v) else round(v), str(v), v * 10, None])
    if isinstance(v, str):
        return _alter_str(v, rng) if rng.random() < 0.8 else rng.choice([1, [v], None, {"v": v}])
    if isinstance(v, list):
        if len(v) > 1 and rng.random() < 0.4:
            return list(reversed(v))
        return rng.choice([v[:-1], v + v[:1], tuple(v), [_wrong_value(x, rng) for x in v] if v else [1], "list"])
    if isinstance(v, dict):
        d = dict(v)
        choice = rng.randrange(4)
        if choice == 0 and d:
            d.pop(rng.choice(list(d)))
        elif choice == 1:
            d["extra_key"] = "x"
        elif choice == 2 and d:
            k = rng.choice(list(d))
            d[k] = _wrong_value(d[k], rng)
        else:
            return [d]
        return d
    return "x"


def _java_wrong(v: Any, rng: random.Random) -> Raw:
    """Plausible wrong Java/JS argument text: wrong suffix, Python literals, quoted numbers."""
    if isinstance(v, bool):
        return Raw(rng.choice(["True", '"true"', "1", "yes"]))
    if isinstance(v, (int, float)):
        return Raw(rng.choice([repr(v), f'"{v}"', f"{v}L", f"{v}f", f"{v}.0", f"{v}n", str(v + 1)]))
    if isinstance(v, str):
        return Raw(rng.choice([json.dumps(v.upper()), "'" + v + "'", json.dumps(v + "x"), "null", "undefined"]))
    if isinstance(v, list):
        return Raw(rng.choice(["[]", "new ArrayList<>()", json.dumps(v[::-1]), "new int[]{1, 2}", "null"]))
    return Raw(rng.choice(["{}", "new HashMap<>()", "null", '{a: 1}']))


def _perturb_args(args: dict, rng: random.Random, doc_params: dict, language: str, functions, name) -> tuple[str, dict]:
    args = dict(args)
    keys = list(args)
    r = rng.randrange(6)
    if r == 0 and keys:
        args.pop(rng.choice(keys))
        return "drop_param", args
    if r == 1:
        unused = [p for p in doc_params if p not in args]
        key = rng.choice(unused) if unused and rng.random() < 0.6 else "unexpected_param"
        args[key] = rng.choice([1, "x", True, 2.5, [1]])
        return "extra_param", args
    if r == 2 and len(keys) > 1:
        return "reorder_params", dict(reversed(list(args.items())))
    if not keys:
        args["unexpected_param"] = 1
        return "extra_param", args
    k = rng.choice(keys)
    if language != "python" and rng.random() < 0.5:
        orig = args[k]
        args = render_args(language, functions, name, args, rng.randrange(6))
        args[k] = _java_wrong(orig, rng)
        return "wrong_literal", args
    args[k] = _wrong_value(args[k], rng)
    return "wrong_value", args


# ---------------------------------------------------------------- per-entry cases


def _language(category: str) -> str:
    return "java" if category == "simple_java" else "javascript" if category == "simple_javascript" else "python"


def _render(language, functions, calls, style, positional=None):
    out = []
    for i, (name, args) in enumerate(calls):
        rendered = render_args(language, functions, name, args, style) if not any(isinstance(v, Raw) for v in args.values()) else args
        out.append(py_call(name, rendered, positional[i] if positional else ()))
    return out


def ast_cases(category: str, index: int, entry: dict, answer: list, seed: int) -> list[Case]:
    rng = random.Random(f"{seed}:{category}:{index}")
    lang = _language(category)
    fns = entry["function"]
    cases: list[Case] = []

    def add(kind: str, text: str) -> None:
        cases.append(Case(category, index, kind, text))

    def calls(mode: str) -> list[tuple[str, dict]]:
        return [materialise(c, rng, mode) for c in answer]

    first = calls("first")
    add("gt_first", wrap(_render(lang, fns, first, rng.randrange(6)), rng.randrange(10)))
    add("gt_minimal", wrap(_render(lang, fns, calls("minimal"), rng.randrange(6)), rng.randrange(10)))
    add("gt_random", wrap(_render(lang, fns, calls("random"), rng.randrange(6)), rng.randrange(10)))

    # one perturbed parameter in one call
    for _ in range(2):
        cs = calls("random")
        i = rng.randrange(len(cs))
        name, args = cs[i]
        kind, cs[i] = (lambda r: (r[0], (name, r[1])))(_perturb_args(args, rng, _props(fns, name), lang, fns, name))
        add(kind, wrap(_render(lang, fns, cs, rng.randrange(6)), rng.randrange(10)))

    # call-level and text-level perturbations: pick two per entry
    cs = calls("random")
    rendered = _render(lang, fns, cs, rng.randrange(6))
    options = []
    options.append(("extra_call", lambda: rendered + [rendered[rng.randrange(len(rendered))]]))
    if len(rendered) > 1:
        options.append(("missing_call", lambda: rendered[:-1]))
        options.append(("swapped_calls", lambda: rendered[::-1]))
    other = [f["name"] for f in fns if f["name"] not in {n for n, _ in cs}]
    if other:
        options.append(("wrong_function", lambda: [py_call(rng.choice(other), dict(cs[0][1]) if lang == "python" else render_args(lang, fns, cs[0][0], cs[0][1], 1))] + rendered[1:]))
    options.append(("case_change", lambda: _render(lang, fns, [(n, {k: (v.swapcase() if isinstance(v, str) else v) for k, v in a.items()}) for n, a in cs], 1)))
    options.append(("positional", lambda: _render(lang, fns, [(n, dict(list(a.items())[1:])) for n, a in cs], 0, [tuple(list(a.values())[:1]) for _, a in cs])))
    options.append(("dotted_name", lambda: _render(lang, fns, [(n.replace(".", "_") if "." in n else "mod." + n, a) for n, a in cs], 2)))
    options.append(("empty_list", lambda: []))
    picks = rng.sample(options, min(2, len(options)))
    for kind, make in picks:
        add(kind, wrap(make(), rng.randrange(10)))

    # text damage
    text = wrap(rendered, 0)
    r = rng.randrange(5)
    if r == 0:
        add("truncated", text[: rng.randrange(1, max(2, len(text)))])
    elif r == 1:
        add("text_around", rng.choice(["Sure! ", "I will call: ", "<think>ok</think>\n"]) + text + rng.choice(["", " Done.", "\nHope this helps"]))
    elif r == 2:
        add("garbage", rng.choice(["", "[]", "None", "I cannot help with that.", "[1, 2]", "{'a': 1}", "[f(]", "```\n```", "[f(x=1)(y=2)]"]))
    elif r == 3:
        add("binop", text.replace("=", "=-1*", 1) if "=" in text and lang == "python" else text + " ")
    else:
        add("json_like", json.dumps([{n: a} for n, a in cs], default=str))
    return cases


def relevance_cases(category: str, index: int, entry: dict, seed: int) -> list[Case]:
    rng = random.Random(f"{seed}:{category}:{index}")
    fns = entry["function"]
    f = rng.choice(fns) if fns else {"name": "lookup", "parameters": {"properties": {"q": {"type": "string"}}}}
    props = f["parameters"].get("properties", {})
    sample = {"string": "x", "integer": 1, "float": 1.5, "boolean": True, "array": [1], "dict": {"a": 1}}
    args = {p: sample.get(d.get("type"), "v") for p, d in list(props.items())[: rng.randrange(0, 4)]}
    call = py_call(f["name"], args)
    texts = [
        ("call", wrap([call], rng.randrange(10))),
        ("plain_text", rng.choice(["I cannot answer that with the given tools.", "The answer is 42.", "Sorry, none of the functions apply."])),
        ("empty", rng.choice(["", "[]", "[ ]", "``` ```"])),
        ("odd", rng.choice(["[{}]", "None", "[None]", "[1, 2]", "f", "[f]", "f()", "[f()]", "get(x)", call + " because", "```json\n[]\n```"])),
    ]
    return [Case(category, index, kind, t) for kind, t in texts]


# Outputs the official decoder would `eval` (running code or never finishing). They are
# never shown to the official side: ours must refuse them (docs/bfcl_divergences.md #2).
UNSAFE_ARGS = (
    "9**9**9",
    "(lambda: 1)",
    "lambda x: x",
    "10**10**10 + 1",
    "[1] * 10**12",
    "'a' * 10**12",
)


def unsafe_case(category: str, index: int, entry: dict, rng: random.Random) -> Case:
    fns = entry["function"]
    name = fns[0]["name"] if fns else "f"
    params = list(fns[0]["parameters"].get("properties", {})) if fns else []
    arg = params[0] if params else "x"
    return Case(category, index, "unsafe", f"[{name}({arg}={rng.choice(UNSAFE_ARGS)})]")


def build(seed: int = 0) -> list[Case]:
    """The whole corpus, in a fixed order (category by category, entry by entry)."""
    out: list[Case] = []
    for cat in CATEGORIES:
        entries, answers = load(cat)
        for i, entry in enumerate(entries):
            if answers is None:
                out.extend(relevance_cases(cat, i, entry, seed))
            else:
                out.extend(ast_cases(cat, i, entry, answers[i]["ground_truth"], seed))
            if i % 50 == 7 and _language(cat) == "python":
                out.append(unsafe_case(cat, i, entry, random.Random(f"{seed}:unsafe:{cat}:{i}")))
    return out


def slice_of(cases: list[Case], n: int) -> list[Case]:
    """A deterministic spread-out subset of about n cases (every k-th)."""
    step = max(1, len(cases) // n)
    return cases[::step]


# ---------------------------------------------------------------- decoded-level cases


@dataclass(frozen=True)
class DecodedCase:
    """Already-decoded calls, for checker-only agreement (shapes a text decoder rarely yields)."""

    category: str
    index: int
    kind: str
    decoded: Any


def decoded_cases(seed: int = 0, categories: tuple[str, ...] = AST_CATEGORIES) -> list[DecodedCase]:
    """Materialised ground truth and perturbations as Python values, bypassing any decoder.

    For the Java/JS categories this yields non-string values (what FC or
    ToolRL-style JSON outputs give), which BFCL rejects as type_error:java/js.
    """
    out: list[DecodedCase] = []
    for cat in categories:
        entries, answers = load(cat)
        for i, entry in enumerate(entries):
            rng = random.Random(f"{seed}:decoded:{cat}:{i}")
            gt = answers[i]["ground_truth"]
            fns = entry["function"]
            calls = [materialise(c, rng, rng.choice(["first", "random", "minimal"])) for c in gt]
            out.append(DecodedCase(cat, i, "values", [{n: a} for n, a in calls]))
            n, a = calls[rng.randrange(len(calls))]
            a = dict(a)
            if a:
                k = rng.choice(list(a))
                a[k] = _wrong_value(a[k], rng)
            else:
                a[None] = "positional"
            kind = rng.choice(["perturbed", "nested_call", "tuple", "none_key"])
            if kind == "nested_call" and a:
                a[rng.choice(list(a))] = {"inner": {"x": 1}}
            elif kind == "tuple":
                a = {k: tuple(v) if isinstance(v, list) else v for k, v in a.items()}
            elif kind == "none_key":
                a[None] = "x"
            out.append(DecodedCase(cat, i, kind, [{n: a}] + [{m: b} for m, b in calls[1:]]))
            if cat in ("simple_java", "simple_javascript"):
                lang = _language(cat)
                rendered = {k: str(v) for k, v in render_args(lang, fns, calls[0][0], calls[0][1], rng.randrange(6)).items()}
                out.append(DecodedCase(cat, i, "rendered_strings", [{calls[0][0]: rendered}]))
    return out
