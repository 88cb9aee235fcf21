"""The real embedded SmolLM2-135M end to end (slow: loads 135M params on CPU)."""

from __future__ import annotations

import json

import pytest

from harness.cli import main
from harness.embedded import embedded_model_dir

pytestmark = pytest.mark.slow


def test_converted_checkpoint_is_plain_and_trainable():
    d = embedded_model_dir()
    cfg = json.loads((d / "config.json").read_text())
    assert "quantization_config" not in cfg  # a GGUF-flagged model cannot be trained
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(d)
    assert getattr(model, "hf_quantizer", None) is None
    assert sum(p.numel() for p in model.parameters()) > 100_000_000


def test_rest_eval_embedded_end_to_end(tmp_path, capsys):
    rc = main(["eval", "--tasks", "bfcl:simple_python", "--limit", "2", "--max-new-tokens", "24",
               "--batch-size", "2", "--output-dir", str(tmp_path), "--run-name", "r", "--no-progress"])
    assert rc == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    s = summary["tasks"]["bfcl:simple_python"]
    assert s["total"] == 2 and s["failed"] == 0
    lines = [json.loads(x) for x in (tmp_path / "r" / "samples" / "bfcl__simple_python.jsonl").read_text().splitlines()]
    assert [x["id"] for x in lines] == ["simple_python_0", "simple_python_1"]
    assert all(x["completion_tokens"] > 0 and x["prompt_tokens"] > 200 for x in lines)
    assert "bfcl:simple_python" in capsys.readouterr().out
