"""API-Bank original protocol: gold rates, error classes, per-API rules, parsing, security."""

from __future__ import annotations

import json

import pytest

from harness.apibank.original.dialogues import load_dialogue, samples_of
from harness.apibank.original.env import ToolEnv, load_databases
from harness.apibank.original.evaluator import judge_call, judge_in_context
from harness.apibank.original.parse import find_call, parse_call
from harness.apibank.original.score import gold_rows, score_predictions, summarize
from harness.types import UserError
from tests.data_paths import dataset_dir, needs

DATA = dataset_dir("apibank")
pytestmark = needs("apibank")


@pytest.fixture(scope="module")
def dbs():
    return load_databases(DATA)


def env(dbs):
    return ToolEnv(dbs)


def gold(api: str, inp: dict, output, exception=None) -> dict:
    return {"role": "API", "api_name": api, "param_dict": inp, "result": {"api_name": api, "input": inp, "output": output, "exception": exception}}


@pytest.fixture(scope="module")
def account(dbs):
    name, rec = next(iter(dbs["Account"].items()))
    return name, rec["password"], rec["token"]


# ---- gold-call rates (the figure: 337/399 official) -----------------------------


@pytest.fixture(scope="module")
def l1_gold_results():
    rows = gold_rows(DATA, level=1)
    return {m: score_predictions(rows, DATA, m) for m in ("official", "stateful")}


def test_level1_gold_rate_official_is_337(l1_gold_results):
    s = summarize(l1_gold_results["official"])
    assert (s["calls"], s["correct"]) == (399, 337)
    assert s["errors"]["HAS_EXCEPTION"] == 37 and s["errors"]["INPUT_MISMATCH"] == 11
    assert s["errors"]["INVALID_INPUT_PARAMETER"] == 8 and s["errors"]["OUTPUT_MISMATCH"] == 5 and s["errors"]["KEY_ERROR"] == 1


def test_level1_gold_rate_stateful_recovers_state_dependent_turns(l1_gold_results):
    off, st = l1_gold_results["official"], l1_gold_results["stateful"]
    assert summarize(st)["correct"] == 345
    # every turn right in official stays right once the history is replayed
    assert all(s["correct"] for o, s in zip(off, st, strict=True) if o["correct"])
    fixed = {o["file"].split("-")[0] for o, s in zip(off, st, strict=True) if s["correct"] and not o["correct"]}
    assert "ForgotPassword" in fixed  # the verification code only exists after the replayed first step


def test_level1_known_gold_failures(l1_gold_results):
    by_api: dict[tuple[str, str], int] = {}
    rows = gold_rows(DATA, level=1)
    for row, res in zip(rows, l1_gold_results["official"], strict=True):
        if not res["correct"]:
            api = row["pred"].split("[", 1)[1].split("(", 1)[0]
            by_api[(api, res["error"])] = by_api.get((api, res["error"]), 0) + 1
    assert by_api[("RecordHealthData", "HAS_EXCEPTION")] == 19  # list argument arrives as a string
    assert by_api[("DeleteMeeting", "KEY_ERROR")] == 1  # its rule reads input['time']
    assert by_api[("CancelTimedSwitch", "INVALID_INPUT_PARAMETER")] == 5
    assert by_api[("Dictionary", "HAS_EXCEPTION")] == 5  # live web API, offline
    assert by_api[("ImageCaption", "HAS_EXCEPTION")] == 1  # ImageCaptioning.json is not in the shared data


def test_level2_gold_non_toolsearcher_rate():
    rows = [r for r in gold_rows(DATA, level=2) if "[ToolSearcher(" not in r["pred"]]
    res = summarize(score_predictions(rows, DATA, "official", level=2))
    assert (res["calls"], res["correct"]) == (90, 80)  # measured with the original code: 80 of the 90


# ---- error classes ------------------------------------------------------------------------


def _first_call_sample(file: str):
    sample = samples_of(load_dialogue(DATA, file))[0]
    assert sample.is_call
    return sample


@pytest.mark.parametrize(
    ("pred", "error"),
    [
        ("I cannot help with that.", "NO_API_CALL"),
        ("[AddAlarm(token='x', time='2023-03-20 07:00:00')]", "API_NAME_MISMATCH"),
        ("[QueryStock(stock_code='AAPL', day='2023-03-01')]", "INVALID_INPUT_PARAMETER"),
        ("[QueryStock(stock_code='AAPL')]", "MISS_INPUT_ARGUMENT"),
        ("[QueryStock(stock_code='ZZZZ', date='2023-03-01')]", "HAS_EXCEPTION"),
    ],
)
def test_error_classes_on_query_stock(dbs, pred, error):
    sample = next(s for s in samples_of(load_dialogue(DATA, "QueryStock-level-1-1.jsonl")) if s.is_call)
    v = judge_call(pred, sample.target, env(dbs))
    assert (v.correct, v.error) == (False, error)


def test_key_error_class(dbs, account):
    _, _, token = account
    inp = {"token": token, "meeting_topic": "x", "start_time": "2023-01-01 10:00:00", "end_time": "", "location": "", "attendees": ""}
    target = gold("DeleteMeeting", inp, "success")
    e = env(dbs)
    e.database("Meeting")["99"] = {"username": e.check_token(token), "meeting_topic": "x", "start_time": "", "end_time": "", "location": "", "attendees": ""}
    pred = f"[DeleteMeeting(token='{token}', meeting_topic='x', start_time='2023-01-01 10:00:00', end_time='', location='', attendees='')]"
    # an empty quoted value swallows the following text up to the next quote: arguments go missing
    assert judge_call(pred, target, e).error == "MISS_INPUT_ARGUMENT"
    pred = f"[DeleteMeeting(token='{token}', meeting_topic='x', start_time='2023-01-01 10:00:00', end_time='2023-01-01 11:00:00', location=a, attendees=a)]"
    assert judge_call(pred, target, e).error == "KEY_ERROR"


def test_output_and_input_mismatch_classes(dbs):
    target = gold("Calculator", {"formula": "1+2"}, 3.0)
    assert judge_call("[Calculator(formula='2+2')]", target, env(dbs)).error == "OUTPUT_MISMATCH"
    target = gold("PlayMusic", {"music_name": "Hello"}, "music://hello")
    assert judge_call("[PlayMusic(music_name='HELLO ')]", target, env(dbs)).correct  # output-only rule
    target = gold("Wiki", {"keyword": "x"}, None, "Keyword not found.")
    assert judge_call("[Wiki(keyword='y')]", target, env(dbs)).correct  # same failure counts as right


def test_unhandled_bad_int(dbs):
    target = gold("BookHotel", {}, "1")
    pred = "[BookHotel(hotel_name='H', check_in_time='2023-01-01', check_out_time='2023-01-02', room_count='two', adult_count='1', child_count='0')]"
    assert judge_call(pred, target, env(dbs)).error == "UNHANDLED_EXCEPTION"


def test_api_name_assertion_inside_rule(dbs, account):
    _, _, token = account
    inp = {"token": token, "content": "buy milk", "time": "2023-03-01 10:00:00"}
    target = gold("AddReminder", inp, "success")
    target["result"]["api_name"] = "SomethingElse"
    pred = f"[AddReminder(token='{token}', content='buy milk', time='2023-03-01 10:00:00')]"
    assert judge_call(pred, target, env(dbs)).error == "API_NAME_MISMATCH"


# ---- per-API correctness rules ----------------------------------------------------------


def test_reminder_word_overlap(dbs, account):
    _, _, token = account
    inp = {"token": token, "content": "Call mom about the party", "time": "2023-03-01 10:00:00"}
    target = gold("AddReminder", inp, "success")
    ok = f"[AddReminder(token='{token}', content='call Mom about the party tonight', time='2023-03-01 10:00:00')]"
    bad = f"[AddReminder(token='{token}', content='party', time='2023-03-01 10:00:00')]"
    assert judge_call(ok, target, env(dbs)).correct  # 5/6 words shared, case-insensitive for reminders
    assert not judge_call(bad, target, env(dbs)).correct


def test_agenda_overlap_is_case_sensitive(dbs, account):
    _, _, token = account
    inp = {"token": token, "content": "Team lunch", "time": "2023-03-01 12:00:00", "location": "Cafe"}
    target = gold("AddAgenda", inp, "success")
    same = f"[AddAgenda(token='{token}', content='Team lunch', time='2023-03-01 12:00:00', location='Cafe')]"
    upper = f"[AddAgenda(token='{token}', content='TEAM LUNCH', time='2023-03-01 12:00:00', location='Cafe')]"
    assert judge_call(same, target, env(dbs)).correct
    assert not judge_call(upper, target, env(dbs)).correct


def test_date_normalisation(dbs):
    code, prices = next(iter(dbs["Stock"].items()))
    day, price = next(iter(prices.items()))
    target = gold("QueryStock", {"stock_code": code, "date": day}, price)
    y, m, d = day.split("-")
    assert judge_call(f"[QueryStock(stock_code='{code.lower()} ', date='{y}-{m}-{d}')]", target, env(dbs)).correct
    assert not judge_call(f"[QueryStock(stock_code='{code}', date='{y}/{m}/{d}')]", target, env(dbs)).correct


def test_delete_rule_only_time(dbs, account):
    _, _, token = account
    e = env(dbs)
    user = e.check_token(token)
    e.database("Agenda")["77"] = {"username": user, "content": "Dentist", "time": "2023-05-05 09:00:00", "location": "X"}
    target = gold("DeleteAgenda", {"token": token, "content": "Dentist", "time": "2023-05-05 09:00:00", "location": "X"}, "success")
    pred = f"[DeleteAgenda(token='{token}', content='Something else', time='2023-05-05 09:00:00', location='Y')]"
    assert judge_call(pred, target, e).correct


def test_get_today_output_only(dbs):
    target = gold("GetToday", None, "2099-01-01")
    assert judge_call("[GetToday()]", target, env(dbs)).correct
    assert judge_call("[GetToday(date='x')]", target, env(dbs)).error == "INVALID_INPUT_PARAMETER"


def test_token_check_via_get_user_token(dbs, account):
    user, pw, token = account
    target = gold("GetUserToken", {"username": user, "password": pw}, {"token": token})
    assert judge_call(f"[GetUserToken(username='{user}', password='{pw}')]", target, env(dbs)).correct
    v = judge_call(f"[GetUserToken(username='{user}', password='wrong')]", target, env(dbs))
    assert v.error == "HAS_EXCEPTION" and v.response["exception"] == "The password is incorrect."
    r = env(dbs).execute("QueryBalance", {"token": "not-a-token"})
    assert r["exception"] == "The token is incorrect."


def test_fresh_state_per_call(dbs, account):
    user, pw, _ = account
    e1 = env(dbs)
    e1.execute("ModifyPassword", {"token": dbs["Account"][user]["token"], "old_password": pw, "new_password": "new"})
    assert dbs["Account"][user]["password"] == pw  # the loaded database is never mutated
    r = env(dbs).execute("GetUserToken", {"username": user, "password": pw})
    assert r["exception"] is None


# ---- prediction text variants ------------------------------------------------------------


def test_parse_variants():
    assert find_call("blah") is None
    assert parse_call("API-Request: [A(x='1', y=\"2\")] trailing") == ("A", {"x": "1", "y": "2"})
    assert parse_call("[A(n=5, b=True, l=[1, 2])]") == ("A", {"n": "5", "b": "True", "l": "[1, 2]"})
    # greedy: two calls on one line become one call to the first name holding both argument lists
    assert parse_call("[A(x='1')] then [B(y='2')]") == ("A", {"x": "1", "y": "2"})
    # a call on a later line is found; a call split across lines is not
    assert find_call("text\n[A(x='1')]") == "[A(x='1')]"
    assert find_call("[A(x='1',\n y='2')]") is None
    # later duplicates win; values are always strings
    assert parse_call("[A(x='1', x='2')]")[1] == {"x": "2"}


def test_prediction_with_extra_text_is_judged_on_the_call(dbs):
    sample = next(s for s in samples_of(load_dialogue(DATA, "QueryStock-level-1-1.jsonl")) if s.is_call)
    call = "[QueryStock(stock_code='{}', date='{}')]".format(sample.target["param_dict"]["stock_code"], sample.target["param_dict"]["date"])
    assert judge_call(f"Sure, let me check.\nAPI-Request: {call}\nDone.", sample.target, env(dbs)).correct
    assert judge_call(call.replace("'", '"'), sample.target, env(dbs)).correct


# ---- security: nothing in a prediction is executed ---------------------------------------


def test_prediction_is_never_executed(dbs, tmp_path):
    marker = tmp_path / "pwned"
    target = gold("Calculator", {"formula": "1+2"}, 3.0)
    evil = [
        f"[Calculator(formula=__import__('os').system('touch {marker}'))]",
        f"[Calculator(formula='1+2'), __import__('os').system('touch {marker}')]",
        f"[__import__(x='os')] [eval(x='open(\"{marker}\",\"w\")')]",
    ]
    verdicts = [judge_call(pred, target, env(dbs)).correct for pred in evil]
    # only the plain `formula='1+2'` argument is read from the second text; the rest is inert
    assert verdicts == [False, True, False]
    assert not marker.exists()


def test_unknown_names_never_resolve(dbs):
    # the gold name gates execution; names are only registry keys
    target = gold("__init__", {}, None)
    v = judge_call("[__init__(x='1')]", target, env(dbs))
    assert v.error == "UNHANDLED_EXCEPTION" and v.response is None


def test_arguments_are_strings(dbs):
    _, args = parse_call("[A(x=1+1, y=[__import__('os')], z=True)]")
    assert all(isinstance(v, str) for v in args.values())


# ---- score entry points --------------------------------------------------------------------


def test_score_rows_and_replies():
    file = "QueryStock-level-1-1.jsonl"
    samples = samples_of(load_dialogue(DATA, file))
    reply_id = next(i for i, s in enumerate(samples) if not s.is_call)
    ref = samples[reply_id].target["text"]
    rows = [
        {"file": file, "sample_id": reply_id, "pred": ref},
        {"file": file, "sample_id": 0, "pred": "nothing"},
        {"file": file, "sample_id": reply_id, "pred": ""},
    ]
    res = score_predictions(rows, DATA)
    assert [r["sample_id"] for r in res] == [reply_id, 0, reply_id]
    assert res[0]["kind"] == "reply" and res[0]["correct"] == pytest.approx(1.0, abs=1e-4)
    assert res[1] == {"file": file, "sample_id": 0, "kind": "call", "correct": False, "error": "NO_API_CALL"}
    assert res[2]["correct"] == 0.0
    s = summarize(res)
    assert s["calls"] == 1 and s["correct"] == 0 and s["replies"] == 2 and s["rouge_l"] == pytest.approx(0.5, abs=1e-4)


@pytest.mark.parametrize(
    "row",
    [
        {"file": "../etc/passwd.jsonl", "sample_id": 0, "pred": ""},
        {"file": "Nope.jsonl", "sample_id": 0, "pred": ""},
        {"file": "QueryStock-level-1-1.jsonl", "sample_id": 999, "pred": ""},
        {"file": "QueryStock-level-1-1.jsonl", "pred": ""},
    ],
)
def test_bad_rows_are_user_errors(row):
    with pytest.raises(UserError):
        score_predictions([row], DATA)


def test_bad_mode_is_user_error():
    with pytest.raises(UserError):
        score_predictions([], DATA, mode="lenient")


def test_stateful_replay_changes_verdict(dbs):
    file = "QueryStock-level-1-1.jsonl"
    sample = next(s for s in samples_of(load_dialogue(DATA, file)) if s.is_call)
    pred = "[QueryStock(stock_code='{}', date='{}')]".format(sample.target["param_dict"]["stock_code"], sample.target["param_dict"]["date"])
    assert judge_in_context(pred, sample.history, sample.target, dbs, "stateful").correct
    with pytest.raises(ValueError):
        judge_in_context(pred, sample.history, sample.target, dbs, "other")


def test_json_round_trip_of_results():
    res = score_predictions([{"file": "QueryStock-level-1-1.jsonl", "sample_id": 0, "pred": "x"}], DATA)
    assert json.loads(json.dumps(res)) == res


def test_calculator_shared_by_all_levels():
    """One calculator for levels 1-3: left-to-right within a precedence level, parentheses first."""
    from harness.apibank.original.apis import info, lv3
    from harness.apibank.original.apis.info import calculate, valid_formula

    assert lv3.calculate is info.calculate
    assert [calculate(f) for f in ("2+3*4", "(1+2)*3", "8/2/2", "10-2-3", "2*(3+4)-1")] == [14.0, 9.0, 2.0, 5.0, 13.0]
    assert [valid_formula(f) for f in ("1+2", "12", "1+", "", "(1+2", "1+a", "²+1")] == [True, False, False, False,
                                                                                         False, False, False]
