"""`rest eval` writes BFCL-layout result files that `rest score bfcl` scores identically."""

from __future__ import annotations

import json

from harness.backends.base import Completion, GenParams
from harness.cli import main
from harness.runner import RunConfig
from harness.runner import run as run_typed


def run(*args, **kwargs) -> dict:
    """The run's summary as written to summary.json (the on-disk contract these tests check)."""
    return run_typed(*args, **kwargs).to_json()


class ScriptedBackend:
    """Answers with the ground-truth call for every other prompt, prose otherwise."""

    name = "scripted"

    def __init__(self) -> None:
        self.n = 0

    def info(self):
        return {"backend": self.name}

    def generate(self, prompts, params):
        out = []
        for p in prompts:
            user = p.messages[-1]["content"]
            text = "[calculate_triangle_area(base=10, height=5)]" if "triangle" in user else "I cannot help."
            self.n += 1
            out.append(Completion(text=text, prompt_tokens=10, completion_tokens=5))
        return out


def test_eval_then_score_bfcl_result_files_agree(tmp_path, capsys):
    summary = run(ScriptedBackend(), RunConfig(tasks=["bfcl:simple_python", "bfcl:irrelevance"], out_dir=tmp_path / "r",
                                               limit=5, progress=False, gen=GenParams(), model_label="org/model-x"))
    assert summary["tasks"]["bfcl:simple_python"]["correct"] == 1  # simple_python_0 is the triangle
    from harness import tasks as registry

    irr = registry.get("bfcl:irrelevance").samples()[:5]
    abstained = sum("triangle" not in s.messages[-1]["content"] for s in irr)
    assert abstained < 5  # the corpus has a triangle question among the first five: a call there is wrong
    assert summary["tasks"]["bfcl:irrelevance"]["correct"] == abstained  # prose is a correct abstention
    files = sorted((tmp_path / "r" / "result" / "org_model-x").rglob("BFCL_v4_*_result.json"))
    assert [f.name for f in files] == ["BFCL_v4_irrelevance_result.json", "BFCL_v4_simple_python_result.json"]
    out = tmp_path / "per_sample.jsonl"
    assert main(["score", "bfcl", *map(str, files), "--out", str(out)]) == 0
    scored = {r["id"]: r["valid"] for r in map(json.loads, out.read_text().splitlines())}
    samples = {}
    for f in (tmp_path / "r" / "samples").glob("*.jsonl"):
        samples.update({r["id"]: r["valid"] for r in map(json.loads, f.read_text().splitlines())})
    assert scored == samples and len(scored) == 10
