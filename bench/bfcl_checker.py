"""Throughput of our BFCL single-turn scoring vs the official evaluator on the agreement corpus.

Two measurements on the same outputs:
- end to end: decode + format check + AST/relevance check per output;
- checker only: the AST checker on outputs already decoded by the official decoder.
Prints outputs/s for each side and the ratio ours / official (target >= 1).

    .venv/bin/python bench/bfcl_checker.py [--repeat 3] [--limit N]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.bfcl.checker import check_ast  # noqa: E402
from harness.bfcl.scoring import score_output  # noqa: E402
from tests.bfcl import corpus  # noqa: E402
from tests.bfcl.test_agreement import official_verdict  # noqa: E402
from tests.official_bfcl import official  # noqa: E402


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="timing repeats; the best is reported")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N corpus outputs")
    args = ap.parse_args()

    o = official()
    # "unsafe" outputs are excluded: the official decoder would eval them (hang / run code).
    cases = [c for c in corpus.build() if c.kind != "unsafe"]
    if args.limit:
        cases = cases[: args.limit]
    rows = []
    for c in cases:
        entries, answers = corpus.load(c.category)
        rows.append((c, entries[c.index]["function"], None if answers is None else answers[c.index]["ground_truth"]))

    def ours_e2e():
        for c, fns, ans in rows:
            score_output(category=c.category, functions=fns, possible_answer=ans, text=c.text)

    def official_e2e():
        with contextlib.redirect_stdout(io.StringIO()):
            for c, _, _ in rows:
                official_verdict(o, c)

    # Checker-only inputs: every AST output the official decoder turns into call-shaped lists.
    from bfcl_eval.utils import is_function_calling_format_output

    lang = {"python": o.Language.PYTHON, "java": o.Language.JAVA, "javascript": o.Language.JAVASCRIPT}
    fmt = {"python": o.ReturnFormat.PYTHON, "java": o.ReturnFormat.JAVA, "javascript": o.ReturnFormat.JAVASCRIPT}
    decoded_rows = []
    for c, fns, ans in rows:
        if ans is None:
            continue
        name = corpus._language(c.category)
        try:
            d = o.decode_ast(c.text, fmt[name], False)
        except Exception:
            continue
        if is_function_calling_format_output(d):
            decoded_rows.append((c.category, name, fns, ans, d))
    copies = [copy.deepcopy(r[4]) for r in decoded_rows]  # the official checker may mutate; give it its own

    def ours_check():
        for cat, name, fns, ans, d in decoded_rows:
            check_ast(fns, d, ans, name, cat)

    def official_check():
        with contextlib.redirect_stdout(io.StringIO()):
            for (cat, name, fns, ans, _), d in zip(decoded_rows, copies, strict=True):
                try:
                    o.ast_checker(fns, d, ans, lang[name], cat, "m")
                except Exception:
                    pass

    for label, n, ours, theirs in (
        ("decode + check", len(rows), ours_e2e, official_e2e),
        ("checker only", len(decoded_rows), ours_check, official_check),
    ):
        t_ours, t_off = _best(ours, args.repeat), _best(theirs, args.repeat)
        print(
            f"{label:15s} n={n:6d}  ours {n / t_ours:10.0f} outputs/s  official {n / t_off:10.0f} outputs/s"
            f"  ratio ours/official {t_off / t_ours:.2f}"
        )


if __name__ == "__main__":
    main()
