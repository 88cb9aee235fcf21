"""Published reference figures, shown on boards only as clearly marked reference rows.

These numbers were NOT measured here: they are copied from papers and public
boards (sources in /work/shared/docs/method.md section 4, apibank.md section 4,
bfcl.md section 5). Their protocols differ from ours in places (vLLM version,
FC vs prompting, BFCL V3 vs V4 aggregation), so they are context, never
competitors in the measured ranking. Values are percentages as printed.
"""

from __future__ import annotations

from typing import Any

# API-Bank (ToolRL protocol) level sizes: a reported level accuracy is k / n.
APIBANK_N = {"apibank:level-1": 399, "apibank:level-2": 67, "apibank:level-3": 131, "apibank/overall": 597}

_TOOLRL_SRC = "ToolRL, arXiv 2504.13958v1, Table 1 (BFCL V3) and Table 2 (API-Bank)"
_V3 = ("bfcl-v3/overall", "bfcl-v3/non_live_ast", "bfcl-v3/non_live_exec", "bfcl-v3/live", "bfcl-v3/multi_turn",
       "bfcl-v3/relevance", "bfcl-v3/irrelevance")
_AB = ("apibank/overall", "apibank:level-1", "apibank:level-2", "apibank:level-3")


_BFCL_V4_SRC = "BFCL V4 public board as copied by a third-party gist, Dec 2025 (bfcl.md section 5)"
_BFCL_V4 = ("bfcl/overall", "bfcl/non_live", "bfcl/hallucination")


def _toolrl(label: str, v3: tuple[float, ...], ab: tuple[float, ...]) -> dict[str, Any]:
    return {"label": label, "source": _TOOLRL_SRC, "cells": {**dict(zip(_V3, v3, strict=True)), **dict(zip(_AB, ab, strict=True))},
            "note": "ToolRL prompt-mode handler; BFCL figures use the V3 aggregation (not comparable with V4)"}


def _bfcl_v4(label: str, figures: tuple[float, ...]) -> dict[str, Any]:
    return {"label": label, "cells": dict(zip(_BFCL_V4, figures, strict=True)), "source": _BFCL_V4_SRC,
            "note": "native function-calling mode; includes multi-turn and agentic categories"}


# ToolRL's Tables 1 and 2, one model a line: label, BFCL V3 figures (in `_V3` order), API-Bank figures (`_AB` order).
_TOOLRL_TABLE = [
    ("Qwen2.5-1.5B-Instruct (raw)", (19.41, 16.00, 13.18, 35.58, 0.00, 44.44, 82.49), (30.65, 28.32, 35.82, 35.11)),
    ("Qwen2.5-1.5B-Instruct GRPO cold start (ToolRL)", (46.20, 77.96, 76.98, 60.73, 2.25, 100.00, 56.44), (63.15, 70.68, 61.19, 41.22)),
    ("Qwen2.5-3B-Instruct (raw)", (33.04, 42.52, 40.80, 53.96, 1.00, 64.71, 56.01), (51.59, 59.65, 32.84, 36.64)),
    ("Qwen2.5-3B-Instruct GRPO cold start (ToolRL)", (52.98, 81.58, 79.43, 73.78, 3.75, 88.24, 84.85), (67.00, 73.43, 67.16, 47.33)),
    ("Qwen2.5-7B-Instruct (raw)", (41.97, 66.02, 70.11, 53.51, 4.25, 76.47, 62.66), (62.48, 70.68, 49.25, 44.27)),
    ("Qwen2.5-7B-Instruct GRPO cold start (ToolRL)", (58.38, 86.17, 78.25, 74.90, 18.12, 83.33, 76.68), (64.66, 73.93, 61.19, 38.17)),
    ("Llama-3.2-3B-Instruct (raw)", (22.09, 17.44, 14.57, 43.85, 0.00, 77.78, 66.07), (40.54, 44.86, 29.85, 32.82)),
    ("Llama-3.2-3B-Instruct GRPO cold start (ToolRL)", (44.10, 74.38, 75.18, 56.86, 1.37, 94.44, 62.23), (59.13, 65.66, 52.24, 42.75)),
]

REFERENCES: list[dict[str, Any]] = [
    *(_toolrl(*row) for row in _TOOLRL_TABLE),
    {"label": "Qwen3-8B ResT (secondary, unverified)", "cells": {"apibank/overall": 70.69, "apibank:level-3": 60.31},
     "source": "ResT arXiv 2509.21826 as quoted by third-party paper notes (method.md 4.3); per-level table not "
               "retrieved from the paper",
     "note": "unverified secondary figures; fit k/597 and k/131"},
    # BFCL V4 board: overall, non-live, hallucination
    _bfcl_v4("Qwen3-0.6B (FC), BFCL V4", (22.59, 68.56, 81.79)),
    _bfcl_v4("Hammer2.1-0.5b (FC), BFCL V4", (21.11, 68.62, 74.27)),
    _bfcl_v4("Llama-3.2-1B-Instruct (FC), BFCL V4", (10.85, 37.9, 53.03)),
]

# Columns that only reference rows fill (we never compute the V3 aggregation).
REFERENCE_ONLY_COLUMNS = {
    "bfcl-v3/overall": "V3 overall", "bfcl-v3/non_live_ast": "V3 non-live AST",
    "bfcl-v3/non_live_exec": "V3 non-live exec", "bfcl-v3/live": "V3 live", "bfcl-v3/multi_turn": "V3 multi-turn",
    "bfcl-v3/relevance": "V3 relevance", "bfcl-v3/irrelevance": "V3 irrelevance",
}


def reference_rows() -> list[dict[str, Any]]:
    """Reference rows in board form: fractions, marked `reference`, n where the protocol fixes it."""
    rows = []
    for i, ref in enumerate(REFERENCES):
        cells = {}
        for key, pct in ref["cells"].items():
            n = APIBANK_N.get(key)
            cells[key] = {"accuracy": pct / 100.0, "total": n, "correct": None, "ci95": None, "method": "reported"}
        rows.append({"id": f"ref:{i:02d}", "label": ref["label"], "model": "", "reference": True,
                     "source": ref["source"], "note": ref.get("note", ""), "step": None, "run_group": None,
                     "cells": cells})
    return rows
