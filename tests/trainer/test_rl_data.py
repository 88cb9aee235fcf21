"""RL training data: the `toolrl:rl` alias, the RL default, and the held-out check `load_dataset` runs.

Tiny rows written to tmp files or built in memory; no model, no network. BFCL
questions come from the installed bfcl-eval package (cheap to read); API-Bank
items are tiny stand-ins in a tmp folder laid out like the fetch cache.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.data import fetch as data_fetch
from harness.toolrl.convert import USER_HEADER, bfcl_to_rlla
from harness.toolrl.data import RL_ALIAS, RL_FILE, SFT_ALIAS, TRAIN_ALIASES
from harness.types import UserError
from trainer import data as D
from trainer.data_prep import drop_overlap, find_overlap, user_turns

SYSTEM = "You are a helpful multi-turn dialogue assistant capable of leveraging tool calls."


def rlla(question: str, system: str = SYSTEM, rid: str | None = None, answer: str = "<think>t</think>\n<response>ok</response>") -> dict:
    row = {"prompt": [{"role": "system", "content": system},
                      {"role": "user", "content": f"{USER_HEADER}\n<user> {question} </user>"}],
           "ground_truth": answer}
    return {"id": rid, **row} if rid is not None else row


def write_jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def verl_parquet(path: Path, questions: list[str]) -> None:
    import pandas as pd

    recs = [{"data_source": "rlla", "prompt": rlla(q)["prompt"], "ability": "math",
             "reward_model": {"style": "rule", "ground_truth": rlla(q)["ground_truth"]},
             "extra_info": {"split": "train", "index": i}} for i, q in enumerate(questions)]
    pd.DataFrame(recs).to_parquet(path)


# ---------------------------------------------------------------- the alias and the RL default


def test_rl_alias_is_the_fetched_blob_pinned_file():
    (spec,) = [s for s in data_fetch.manifest("toolrl") if s.path == RL_FILE]
    assert spec.git_blob and spec.url.endswith("/dataset/rlla_4k/train.parquet")
    assert TRAIN_ALIASES[RL_ALIAS] == RL_FILE and TRAIN_ALIASES[SFT_ALIAS] == "rlla_sft.json"


def test_rl_alias_resolves_and_loads_verl_rows(toolrl_dir):
    verl_parquet(toolrl_dir / RL_FILE, ["q0", "q1", "q2"])
    assert D.resolve_data_spec("toolrl:rl") == ("parquet", str(toolrl_dir / RL_FILE))
    rows = D.rows_with_ids("toolrl:rl")
    assert [r["id"] for r in rows] == ["rlla_4k_train:0", "rlla_4k_train:1", "rlla_4k_train:2"]
    assert user_turns(rows[1]) == ("q1",)
    ds = D.load_dataset("toolrl:rl", holdout=())
    assert ds.column_names == ["prompt", "ground_truth"] and len(ds) == 3


def test_missing_rl_alias_is_one_line_naming_the_fetch(toolrl_dir):
    with pytest.raises(UserError) as err:
        D.resolve_data_spec("toolrl:rl", where="data.train")
    msg = str(err.value)
    assert msg.startswith("data.train: toolrl:rl needs rlla_4k_train.parquet") and "`rest data fetch toolrl`" in msg
    assert "\n" not in msg
    with pytest.raises(UserError, match="toolrl:rl"):  # the unknown-alias message lists it
        D.resolve_data_spec("toolrl:train")


def test_default_rl_train_spec_prefers_the_4k_rows_else_says_it_uses_sft(toolrl_dir):
    spec, note = D.default_rl_train_spec()
    assert spec == "toolrl:sft" and "\n" not in note
    assert "toolrl:rl" in note and "rest data fetch toolrl" in note and "toolrl:sft" in note
    verl_parquet(toolrl_dir / RL_FILE, ["q"])
    assert D.default_rl_train_spec() == ("toolrl:rl", None)


# ---------------------------------------------------------------- matching rules (pure)


def test_user_turns_reads_toolrl_apibank_and_plain_questions():
    assert user_turns(rlla("  Find flights to Oslo ")) == ("Find flights to Oslo",)
    apibank = {"prompt": [{"role": "system", "content": "S"}, {"role": "user", "content": (
        "**Dialogue Records History**\n<user>Book it.</user>\n<response>Which day?</response>\n\n<user>Monday</user>")}]}
    assert user_turns(apibank) == ("Book it.", "Monday")
    assert user_turns({"prompt": [{"role": "user", "content": "What is 2+2? "}]}) == ("What is 2+2?",)
    assert user_turns({"prompt": [{"role": "system", "content": "S"}]}) == ()


def test_question_match_is_opt_in_and_drop_agrees_with_find():
    train = [rlla("same words", rid="t0"), rlla("other", rid="t1"), rlla("exact", rid="t2")]
    held = [rlla("same words", system="BFCL-style tool docs", rid="b0"), rlla("exact", rid="b1"), {"id": "t1", "prompt": []}]
    assert find_overlap(train, held) == [("prompt", "b1"), ("id", "t1")]  # the SFT rule: id or exact prompt
    assert find_overlap(train, held, by_question=True) == [("question", "b0"), ("prompt", "b1"), ("id", "t1")]
    kept, dropped = drop_overlap(train, held, by_question=True)
    assert dropped == 3 and kept == [] and find_overlap(kept, held, by_question=True) == []
    kept, dropped = drop_overlap(train, held)
    assert dropped == 2 and [r["id"] for r in kept] == ["t0"]


# ---------------------------------------------------------------- load_dataset with held-out sets


def test_load_dataset_drops_holdout_items_with_a_count(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", [rlla(f"q{i}") for i in range(5)])
    held = write_jsonl(tmp_path / "held.jsonl", [rlla("q1"), rlla("q3"), rlla("never trained")])
    lines: list[str] = []
    ds = D.load_dataset(train, holdout=[held], log=lines.append)
    assert [user_turns({"prompt": p}) for p in ds["prompt"]] == [("q0",), ("q2",), ("q4",)]
    assert lines == [f"data: dropped 2 training rows that are items of {held} (data.exclude_holdout)"]
    assert D.load_dataset(train, holdout=[held], limit=1, log=lines.append).num_rows == 1  # the cut comes after


def test_load_dataset_overlap_is_one_line_error_when_not_excluding(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", [rlla(f"q{i}") for i in range(5)])
    held = write_jsonl(tmp_path / "held.jsonl", [rlla("q1"), rlla("other")])
    with pytest.raises(UserError) as err:
        D.load_dataset(train, holdout=[held], exclude_holdout=False, log=lambda _: None)
    msg = str(err.value)
    assert msg.startswith(f"contamination: 1 of 2 {held} items are in {train}") and "exclude_holdout" in msg
    assert "\n" not in msg
    assert D.load_dataset(train, holdout=[], exclude_holdout=False).num_rows == 5


def test_load_dataset_everything_held_out_is_an_error(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", [rlla("q0")])
    held = write_jsonl(tmp_path / "held.jsonl", [rlla("q0")])
    with pytest.raises(UserError, match="every row .* is a held-out item"):
        D.load_dataset(train, holdout=[held], log=lambda _: None)


def test_loading_the_holdout_set_itself_and_absent_data(tmp_path, toolrl_dir):
    held = write_jsonl(toolrl_dir / "rlla_4k_test.jsonl", [rlla("q0"), rlla("q1")])
    lines: list[str] = []
    assert D.load_dataset(held, holdout=[held], log=lines.append).num_rows == 2  # an evaluation set is not emptied
    assert lines == [f"data: {held} is the held-out set {held} itself; not checked against it"]
    lines.clear()
    train = write_jsonl(tmp_path / "train.jsonl", [rlla("q0")])
    assert D.load_dataset(train, holdout=["toolrl:test"], log=lines.append).num_rows == 1
    assert len(lines) == 1 and lines[0].startswith("data: held-out set toolrl:test not checked:")
    assert "rest data fetch toolrl" in lines[0]


def test_bad_benchmark_holdout_specs_are_errors(tmp_path):
    for spec, match in [("apibank:level-4", "apibank:level-1"), ("bfcl:simpel_python", "simple_python"),
                        ("./nope.jsonl", "does not exist"), ("toolrl:tset", "unknown alias")]:
        with pytest.raises(UserError, match=match):
            D.check_holdout_spec(spec)
    for spec in ("apibank", "apibank:level-2", "bfcl", "bfcl:live", "bfcl:simple_java", "toolrl:test", "toolrl:rl"):
        D.check_holdout_spec(spec)  # forms only: an alias's file may be absent
    train = write_jsonl(tmp_path / "train.jsonl", [rlla("q0")])
    with pytest.raises(UserError, match="data.holdout: 'apibank:lvl1'"):
        D.load_dataset(train, holdout=["apibank:lvl1"])


def test_apibank_items_are_held_out_by_prompt_and_by_question(tmp_path, monkeypatch):
    root = tmp_path / "apibank"
    (root / "toolrl_processed").mkdir(parents=True)
    items = {1: [{"system": SYSTEM, "user": f"{USER_HEADER}\n<user>Set an alarm for 7</user>",
                  "answer": [{"name": "AddAlarm", "parameters": {"time": "07:00"}}]}],
             2: [{"system": SYSTEM, "user": f"{USER_HEADER}\n<user>Show my agenda</user>",
                  "answer": {"name": "GetAgenda", "parameters": {}}}],
             3: []}
    for level, rows in items.items():
        (root / "toolrl_processed" / f"level-{level}-api_processed.json").write_text(json.dumps(rows))
    monkeypatch.setenv("REST_APIBANK_DATA", str(root))
    exact = {"prompt": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": items[1][0]["user"]}], "ground_truth": "g"}
    retold = rlla("Show my agenda", system="other tools")  # same words, different tool list
    train = write_jsonl(tmp_path / "train.jsonl", [exact, retold, rlla("unrelated")])
    lines: list[str] = []
    ds = D.load_dataset(train, holdout=["apibank"], log=lines.append)
    assert [user_turns({"prompt": p}) for p in ds["prompt"]] == [("unrelated",)]
    assert lines == ["data: dropped 2 training rows that are items of apibank (data.exclude_holdout)"]
    assert len(D.load_holdout("apibank:level-2").rows) == 1
    with pytest.raises(UserError, match=r"\(0 by id, 1 by exact prompt, 1 by the same user question\)"):
        D.load_dataset(train, holdout=["apibank"], exclude_holdout=False)


def test_bfcl_questions_are_held_out_though_the_prompt_format_differs(tmp_path):
    from harness.bfcl.data import load_answers, load_entries

    entry = load_entries("simple_python", language_hint=False)[0]
    leaked = bfcl_to_rlla(entry, {"ground_truth": load_answers("simple_python")[entry["id"]]})
    train = [{"id": "t0", **leaked}, {"id": "t1", **rlla("not a BFCL question")}]
    held = D.load_holdout("bfcl:simple_python")
    assert held.by_question and len(held.rows) == len(load_entries("simple_python", language_hint=False))
    assert find_overlap(train, held.rows) == []  # no exact prompt: BFCL items carry no ToolRL system prompt
    assert find_overlap(train, held.rows, by_question=True) == [("question", entry["id"])]
    lines: list[str] = []
    kept = D.exclude_holdout_rows(train, "mix", [held], log=lines.append)
    assert [r["id"] for r in kept] == ["t1"] and lines == ["data: dropped 1 training rows that are items of bfcl:simple_python (data.exclude_holdout)"]


def test_default_holdout_covers_toolrl_test_apibank_and_bfcl():
    assert D.DEFAULT_HOLDOUT == ("toolrl:test", "apibank", "bfcl")
    assert len(D.load_holdout("bfcl").rows) == sum(len(D.load_holdout(f"bfcl:{g}").rows) for g in ("non_live", "live"))
