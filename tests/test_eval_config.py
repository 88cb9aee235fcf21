"""`rest eval --config FILE.yaml`: every flag a key, the command line wins, unknown keys are one-line errors, and
summary.json records the resolved settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.backends.base import Completion
from harness.cli import main
from harness.cli.eval import parse_eval_args
from harness.types import UserError

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return str(path)


def test_the_documented_example_resolves():
    args = parse_eval_args(["--config", str(ROOT / "docs" / "eval_config.yaml")])
    assert (args.backend, args.format, args.batch_size, args.temperature, args.max_new_tokens) == (
        "openai", "fc", 64, 0.6, 8192)
    assert args.tasks == "bfcl:simple_python,bfcl:multiple,bfcl:parallel,bfcl:parallel_multiple"
    assert args.gen_kwargs == {"top_k": 20, "min_p": 0.0} and args.chat_template_kwargs == {"enable_thinking": True}
    assert args.limit == "100" and args.base_url == "http://127.0.0.1:8000/v1"


def test_command_line_wins_even_with_a_flag_at_its_default(tmp_path):
    cfg = write(tmp_path, "batch-size: 16\nmax_new_tokens: 64\ntemperature: 0.5\nno-fetch: true\n"
                          "model-args: trust_remote_code=true\n")
    args = parse_eval_args(["--config", cfg, "--batch-size", "8", "--temperature", "0"])
    assert (args.batch_size, args.max_new_tokens, args.temperature, args.no_fetch) == (8, 64, 0.0, True)
    assert args.model_args == {"trust_remote_code": True}
    assert parse_eval_args(["--config", cfg]).batch_size == 16
    # a key that sets a flag through --gen-kwargs meets the file's flag as it would the command line's
    with pytest.raises(UserError, match="contradicts --temperature"):
        parse_eval_args(["--config", cfg, "--gen-kwargs", "temperature=0.9"])


@pytest.mark.parametrize("text, message", [
    ("batch-size: 4\nbatch_sise: 8\n", "unknown key 'batch_sise' (not a rest eval flag"),
    ("batch-size: 4\nbatch_size: 8\n", "'batch_size' and 'batch-size' name the same flag"),
    ("batch-size: lots\n", "batch-size: 'lots' is not a value of --batch-size"),
    ("batch-size: 2.5\n", "batch-size: 2.5 is not a value of --batch-size"),
    ("no-fetch: 'yes'\n", "no-fetch is a switch: give true or false"),
    ("format: xml\n", "format: 'xml' is not one of auto, prompting, fc, toolrl, apibank"),
    ("temperature: [1]\n", "temperature: [1] is not a value of --temperature"),
    ("gen-kwargs: {logit_bias: 3}\n", "--gen-kwargs logit_bias: the hf backend cannot honour it"),
    ("config: other.yaml\n", "unknown key 'config'"),
    ("- a\n- b\n", "expected a mapping of rest eval flags, got list"),
    ("a: [\n", "not valid YAML"),
])
def test_bad_files_are_one_line_errors(tmp_path, capsys, text, message):
    cfg = write(tmp_path, text)
    assert main(["eval", "--config", cfg, "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert main(["eval", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "No such file" in capsys.readouterr().err


class Scripted:
    name = "scripted"

    def info(self):
        return {"backend": self.name}

    def generate(self, prompts, params):
        return [Completion(text="<think>\nit is a triangle\n</think>\n\n[calculate_triangle_area(base=10, height=5)]")
                for _ in prompts]


def test_summary_records_the_resolved_settings(tmp_path, monkeypatch, capsys):
    import harness.backends

    monkeypatch.setattr(harness.backends, "make_backend", lambda name, args=None, **kw: Scripted())
    cfg = write(tmp_path, "tasks: [bfcl:simple_python]\nlimit: 3\nbatch_size: 2\nmax-new-tokens: 32\n"
                          "gen-kwargs: {stop: [\"\\n\\n\"], repetition_penalty: 1.0}\nrun-name: from-file\n")  # "\\n": YAML reads escapes in double quotes
    assert main(["eval", "--config", cfg, "--output-dir", str(tmp_path), "--limit", "1", "--no-progress"]) == 0
    summary = json.loads((tmp_path / "from-file" / "summary.json").read_text())
    flags = summary["settings"]["flags"]
    assert (flags["limit"], flags["batch_size"], flags["max_new_tokens"], flags["run_name"]) == ("1", 2, 32, "from-file")
    assert flags["gen_kwargs"] == {"stop": ["\n\n"], "repetition_penalty": 1.0} and flags["tasks"] == "bfcl:simple_python"
    assert summary["settings"]["config"]["path"] == str(Path(cfg).resolve())
    assert len(summary["settings"]["config"]["sha256"]) == 64
    assert summary["generation"]["max_new_tokens"] == 32 and summary["limit"] == 1
    assert summary["tasks"]["bfcl:simple_python"]["correct"] == 1  # the thought was cut before decoding
    # summarizing the stored samples later keeps the settings that generated them
    assert main(["eval", "--output-dir", str(tmp_path), "--run-name", "from-file", "--tasks", "bfcl:simple_python",
                 "--summarize-only"]) == 0
    again = json.loads((tmp_path / "from-file" / "summary.json").read_text())
    assert again["settings"] == summary["settings"]


def test_batch_size_key_takes_an_integer_or_auto(tmp_path):
    assert parse_eval_args(["--config", write(tmp_path, "batch_size: auto\n")]).batch_size == "auto"
    assert parse_eval_args(["--config", write(tmp_path, "batch-size: 4\n")]).batch_size == 4
    assert parse_eval_args([]).batch_size == "auto"  # the default
    for bad in ("batch_size: many\n", "batch_size: 0\n", "batch_size: [1, 2]\n"):
        with pytest.raises(UserError, match="batch"):
            parse_eval_args(["--config", write(tmp_path, bad)])
