"""Acceptance gate: our decode + check agrees with the official BFCL evaluator on every corpus output.

The official side is exactly what `bfcl evaluate` does per entry: decode with
`default_decode_ast_prompting` (Python/Java/JS by category), reject output
that is not call-shaped, then `ast_checker`; relevance categories use the
runner's "decodes to a non-empty call list" rule. Verdicts are compared on
(valid, error_type). The whole corpus runs in a few seconds, so it is in the
default suite. Deliberate divergences (docs/bfcl_divergences.md) are counted
separately: official crashes (its run would abort) and outputs our decoder
refuses to evaluate; for both we must report an invalid verdict.
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections import Counter

import pytest

from harness.bfcl.checker import check_ast
from harness.bfcl.errors import UnsafeExpression
from harness.bfcl.scoring import score_output
from tests.bfcl import corpus
from tests.official_bfcl import official


def _lang(o, category: str):
    name = corpus._language(category)
    return name, {"python": o.Language.PYTHON, "java": o.Language.JAVA, "javascript": o.Language.JAVASCRIPT}[name]


def official_verdict(o, case: corpus.Case) -> tuple[object, str | None]:
    """(valid, error_type) as bfcl evaluate records it; valid is "crash" if the official checker raises."""
    from bfcl_eval.utils import is_function_calling_format_output

    entries, answers = corpus.load(case.category)
    if answers is None:
        try:
            has_call = not o.is_empty_output(o.decode_ast(case.text, o.ReturnFormat.PYTHON, False))
        except Exception:
            has_call = False
        if "irrelevance" in case.category:
            return (True, None) if not has_call else (False, "irrelevance_error:decoder_success")
        return (True, None) if has_call else (False, "relevance_error:decoder_failed")
    name, language = _lang(o, case.category)
    fmt = {"python": o.ReturnFormat.PYTHON, "java": o.ReturnFormat.JAVA, "javascript": o.ReturnFormat.JAVASCRIPT}[name]
    try:
        decoded = o.decode_ast(case.text, fmt, False)
    except Exception:
        return False, "ast_decoder:decoder_failed"
    if not is_function_calling_format_output(decoded):
        return False, "ast_decoder:decoder_wrong_output_format"
    return _official_check(o, entries[case.index]["function"], decoded, answers[case.index]["ground_truth"], language, case.category)


def _official_check(o, functions, decoded, answer, language, category, model="m"):
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the JS converter prints on some inputs
            r = o.ast_checker(functions, copy.deepcopy(decoded), answer, language, category, model)
    except Exception as exc:  # noqa: BLE001 - a crash aborts bfcl evaluate; counted as a divergence
        return "crash", repr(exc)
    return r["valid"], None if r["valid"] else r["error_type"]


@pytest.fixture(scope="module")
def cases() -> list[corpus.Case]:
    return corpus.build()


def test_corpus_is_large_and_covers_every_category(cases):
    assert len(cases) >= 20_000
    per_cat = Counter(c.category for c in cases)
    assert set(per_cat) == set(corpus.CATEGORIES)
    assert corpus.build() == cases  # deterministic


def test_text_outputs_agree_with_official(cases):
    o = official()
    mismatches, divergences, seen_types = [], Counter(), Counter()
    for case in cases:
        entries, answers = corpus.load(case.category)
        ours = score_output(
            category=case.category,
            functions=entries[case.index]["function"],
            possible_answer=None if answers is None else answers[case.index]["ground_truth"],
            text=case.text,
        )
        seen_types[ours.error_type] += 1
        refused = any(UnsafeExpression.__name__ in e for e in ours.errors) or (
            ours.detail.get("decoded") is None and case.kind == "unsafe"
        )
        if case.kind == "unsafe":
            # Never handed to the official decoder: it would eval these (run code / hang).
            assert refused and not ours.valid if "relevance" not in case.category else refused, case
            divergences["refused_to_evaluate"] += 1
            continue
        assert not refused, case  # safe outputs are never refused
        expected = official_verdict(o, case)
        if expected[0] == "crash":
            divergences["official_crash"] += 1
            assert not ours.valid
            continue
        if expected != (ours.valid, ours.error_type):
            mismatches.append((case, expected, (ours.valid, ours.error_type)))
    print(f"text corpus: {len(cases)} outputs, divergences {dict(divergences)}")
    assert divergences["refused_to_evaluate"] > 20
    assert not mismatches, f"{len(mismatches)} disagreements, first: {mismatches[:5]}"
    # The corpus must exercise both outcomes and the main failure kinds.
    for error_type in (
        None,
        "ast_decoder:decoder_failed",
        "ast_decoder:decoder_wrong_output_format",
        "simple_function_checker:wrong_func_name",
        "simple_function_checker:missing_required",
        "simple_function_checker:unexpected_param",
        "simple_function_checker:missing_optional",
        "simple_function_checker:wrong_count",
        "multiple_function_checker:wrong_count",
        "parallel_function_checker_no_order:wrong_count",
        "parallel_function_checker_no_order:cannot_find_match",
        "type_error:simple",
        "value_error:string",
        "value_error:others",
        "value_error:list/tuple",
        "value_error:dict_key",
        "value_error:dict_value",
        "irrelevance_error:decoder_success",
        "relevance_error:decoder_failed",
    ):
        assert seen_types[error_type] > 0, error_type


def test_decoded_outputs_agree_with_official():
    """Checker only, on decoded values a text decoder rarely yields (JSON values for Java/JS, tuples, None keys)."""
    o = official()
    dcases = corpus.decoded_cases()
    assert len(dcases) > 5000
    mismatches, seen = [], Counter()
    for case in dcases:
        entries, answers = corpus.load(case.category)
        functions, answer = entries[case.index]["function"], answers[case.index]["ground_truth"]
        name, language = _lang(o, case.category)
        before = copy.deepcopy(case.decoded)
        ours = check_ast(functions, case.decoded, answer, name, case.category)
        assert case.decoded == before  # the checker never mutates its input
        expected = _official_check(o, functions, case.decoded, answer, language, case.category)
        assert expected[0] != "crash", (case, expected)
        seen[ours.error_type] += 1
        if expected != (ours.valid, ours.error_type):
            mismatches.append((case, expected, (ours.valid, ours.error_type)))
    assert not mismatches, f"{len(mismatches)} disagreements, first: {mismatches[:5]}"
    for error_type in (None, "type_error:java", "type_error:js", "type_error:nested", "value_error:list/tuple"):
        assert seen[error_type] > 0, error_type


def test_underscore_to_dot_agrees_with_official_model_config():
    """Models whose registry entry sets underscore_to_dot: dotted doc names are matched as a_b."""
    import bfcl_eval.eval_checker.ast_eval.ast_checker as official_module

    o = official()
    mapping = official_module.MODEL_CONFIG_MAPPING
    cfg = type("Cfg", (), {"underscore_to_dot": True})()
    mapping["dotted-model"] = cfg
    try:
        outcomes = Counter()
        for case in corpus.build():
            if case.category in corpus.RELEVANCE_CATEGORIES:
                continue
            entries, answers = corpus.load(case.category)
            functions = entries[case.index]["function"]
            if not any("." in f["name"] for f in functions) or corpus._language(case.category) != "python":
                continue
            ours = score_output(
                category=case.category,
                functions=functions,
                possible_answer=answers[case.index]["ground_truth"],
                text=case.text,
                underscore_to_dot=True,
            )
            decoded = ours.detail["decoded"]
            if ours.error_type in ("ast_decoder:decoder_failed", "ast_decoder:decoder_wrong_output_format"):
                continue
            _, language = _lang(o, case.category)
            expected = _official_check(o, functions, decoded, answers[case.index]["ground_truth"], language, case.category, "dotted-model")
            assert expected == (ours.valid, ours.error_type), case
            outcomes[ours.valid] += 1
        assert outcomes[True] > 50 and outcomes[False] > 500, outcomes
    finally:
        del mapping["dotted-model"]
