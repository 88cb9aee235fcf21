"""Task registration, prompt shape and the ToolSearcher's degrade/lookup behaviour."""

from __future__ import annotations

import zlib

import torch

from harness.apibank.original import toolsearcher
from harness.apibank.original.env import ToolEnv, load_databases
from harness.apibank.original.tasks import OriginalTask
from harness.tasks import get, known_tasks
from tests.data_paths import dataset_dir, needs

DATA = dataset_dir("apibank")
pytestmark = needs("apibank")


def test_tasks_registered():
    assert {"apibank-original:level-1", "apibank-original:level-2"} <= set(known_tasks())
    assert get("apibank-original:level-1").formats == ("apibank",)


def test_level1_prompt_and_score():
    task = OriginalTask(1, DATA)
    samples = task.samples()
    assert len(samples) == 399
    s = samples[0]
    msgs = task.prompt(s, "apibank").messages
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert "[ApiName(key1='value1'" in msgs[0]["content"] and msgs[1]["content"].rstrip().endswith("Generate API Request:")
    assert s.ground_truth.startswith("API-Request: [")
    assert task.score(s, s.ground_truth, "apibank").verdict.valid
    bad = task.score(s, "I will not call anything.", "apibank").verdict
    assert (bad.valid, bad.error_type) == (False, "NO_API_CALL")


def test_level1_task_gold_total_matches_scorer():
    task = OriginalTask(1, DATA)
    assert sum(task.score(s, s.ground_truth, "apibank").verdict.valid for s in task.samples()) == 337


def test_search_text_matches_original_convention():
    assert toolsearcher.search_text("AddAgenda", "The API.") == "add agendaThe API."
    names = [c["name"] for c in toolsearcher.candidates()]
    assert len(names) == 52 and "ToolSearcher" not in names


def _bag_encoder(texts):
    """Deterministic stand-in embedder: normalised bag of lowercase words hashed (crc32) into 512 dims."""
    out = torch.zeros(len(texts), 512)
    for i, t in enumerate(texts):
        for w in t.lower().replace(".", " ").split():
            out[i, zlib.crc32(w.encode()) % 512] += 1.0
    return torch.nn.functional.normalize(out, dim=-1)


def test_toolsearcher_returns_token_pair_and_plain_match(monkeypatch):
    env = ToolEnv(load_databases(DATA))
    tool = env.tool("ToolSearcher")
    monkeypatch.setattr(tool, "encoder", _bag_encoder)
    r = env.execute("ToolSearcher", {"keywords": "query stock price"})
    assert r["exception"] is None and r["output"]["name"] == "QueryStock"
    assert "desc_for_search" not in r["output"]
    r = env.execute("ToolSearcher", {"keywords": "add alarm"})
    first, best = r["output"]
    assert first["name"] == "GetUserToken" and "desc_for_search" in first  # kept, as in the original
    assert best["name"] == "AddAlarm"


def test_toolsearcher_without_embedder_is_a_stated_skip(monkeypatch):
    monkeypatch.setattr(toolsearcher, "EMBEDDER_PACKAGE", "surely_not_installed_pkg_xyz")
    from harness.apibank.original.evaluator import judge_call

    target = {"role": "API", "api_name": "ToolSearcher", "result": {"api_name": "ToolSearcher", "input": {"keywords": "x"}, "output": None, "exception": None}}
    v = judge_call("[ToolSearcher(keywords='add alarm')]", target, ToolEnv(load_databases(DATA)))
    assert (v.correct, v.error) == (False, "TOOLSEARCHER_UNAVAILABLE")
