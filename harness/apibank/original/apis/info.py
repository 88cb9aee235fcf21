"""Look-up, utility, finance and travel APIs."""

from __future__ import annotations

import datetime
import math
import re
from typing import Any

import numpy as np

from harness.apibank.original.apis.base import Api, D, exact, fail, pad_year, register

OFFLINE = "network APIs are not available offline"


def _io_rule(response: dict, gold: dict) -> bool:
    return response["input"] == gold["input"] and response["output"] == gold["output"] and response["exception"] == gold["exception"]


def _named_output_rule(response: dict, gold: dict) -> bool:
    return response["api_name"] == gold["api_name"] and response["output"] == gold["output"] and response["exception"] == gold["exception"]


def _history_date(value: str) -> Any:
    text = pad_year(value)
    try:
        return datetime.datetime.strptime(text, D).strftime("%m-%d")
    except Exception:
        try:
            return datetime.datetime.strptime(text, "%m-%d").strftime("%m-%d")
        except Exception as exc:
            return exc


@register
class QueryHistoryToday(Api):
    def run(self, date: str) -> Any:
        date = _history_date(date)
        if isinstance(date, ValueError):
            raise date
        if date not in self.db:
            raise fail("The date is not in the database.")
        return [
            "Title: {}, Date: {}, Description: {}".format(h["Title"].strip(), h["Date"].strip(), h["Description"].strip())
            for h in self.db[date]
        ]

    def check(self, response: dict, gold: dict) -> bool:
        r, g = _history_date(response["input"]["date"]), _history_date(gold["input"]["date"])
        return r == g and response["output"] == gold["output"] and response["exception"] == gold["exception"]


@register
class Wiki(Api):
    def run(self, keyword: str) -> Any:
        keyword = keyword.replace("_", " ").strip().lower()
        if keyword not in self.db:
            raise fail("Keyword not found.")
        return {"url": self.db[keyword]["url"], "summary": self.db[keyword]["summary"]}

    def check(self, response: dict, gold: dict) -> bool:
        return _named_output_rule(response, gold)


def _tokenize(text: str) -> list[str]:
    """nltk's word_tokenize on one line (no punkt data needed); a plain split where nltk is absent."""
    try:
        from nltk.tokenize import word_tokenize
    except ImportError:  # pragma: no cover - nltk ships with the project's dependencies
        return re.findall(r"\w+|[^\w\s]", text)
    return word_tokenize(text, preserve_line=True)


def bm25_okapi_scores(corpus: list[list[str]], query: list[str], k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25) -> np.ndarray:
    """BM25 Okapi as the `rank_bm25` package scores it (idf floored at epsilon * mean idf)."""
    n_docs = len(corpus)
    freqs = []
    df: dict[str, int] = {}
    for doc in corpus:
        f: dict[str, int] = {}
        for w in doc:
            f[w] = f.get(w, 0) + 1
        freqs.append(f)
        for w in f:
            df[w] = df.get(w, 0) + 1
    doc_len = np.array([len(d) for d in corpus])
    avgdl = sum(len(d) for d in corpus) / n_docs
    idf = {w: math.log(n_docs - c + 0.5) - math.log(c + 0.5) for w, c in df.items()}
    eps = epsilon * (sum(idf.values()) / len(idf))
    idf = {w: (eps if v < 0 else v) for w, v in idf.items()}
    score = np.zeros(n_docs)
    for q in query:
        qf = np.array([(f.get(q) or 0) for f in freqs])
        score += (idf.get(q) or 0) * (qf * (k1 + 1) / (qf + k1 * (1 - b + b * doc_len / avgdl)))
    return score


@register
class SearchEngine(Api):
    def run(self, keyword: str) -> Any:
        query = _tokenize(keyword.lower().strip())
        scores = bm25_okapi_scores(self.db["tokenized_documents"], query)
        ranks = np.argsort(-np.array(scores))[:2]
        return [self.db["raw_documents"][i] for i in ranks]

    def check(self, response: dict, gold: dict) -> bool:
        if response["api_name"] != gold["api_name"]:
            return False
        if response["exception"] != gold["exception"]:
            return False
        if response["output"] is None or gold["output"] is None:
            # the original then reads an unassigned local: its evaluator crashes
            raise UnboundLocalError("SearchEngine check on a None output")

        def key(x: dict) -> str:
            return x["title"] + x["abstract"]

        return sorted(response["output"], key=key, reverse=True) == sorted(gold["output"], key=key, reverse=True)


@register
class DocumentQA(Api):
    def run(self, url: str, question: str) -> Any:
        url, question = url.strip(), question.strip()
        if question == "":
            raise fail("The question is empty.")
        if url not in self.db:
            raise fail("The document of this url failed to be processed.")
        if question not in self.db[url]:  # a list of {question, answer} dicts: a string is never "in" it
            return "The question is too difficult to answer."
        return self.db[url][question]

    def check(self, response: dict, gold: dict) -> bool:
        ri, gi = response["input"], gold["input"]
        return (
            ri["url"].strip() == gi["url"].strip()
            and ri["question"].strip() == gi["question"].strip()
            and response["output"] == gold["output"]
            and response["exception"] == gold["exception"]
        )


@register
class ImageCaption(Api):
    def run(self, url: str) -> Any:
        url = url.strip()
        if not (url.endswith(".jpg") or url.endswith(".jpeg") or url.endswith(".png")):
            raise fail("The url should end with .jpg, .jpeg or .png.")
        for item in self.db:
            if item["url"] == url:
                return item["caption"]
        raise fail("The image of this url failed to be processed.")

    def check(self, response: dict, gold: dict) -> bool:
        return _io_rule(response, gold)


@register
class SpeechRecognition(Api):
    def run(self, url: str) -> Any:
        url = url.strip()
        if not url.endswith(".wav"):
            raise fail("The url should end with .wav.")
        if url not in self.db:
            raise fail("The audio of this url failed to be processed.")
        return self.db[url]

    def check(self, response: dict, gold: dict) -> bool:
        return _io_rule(response, gold)


@register
class Dictionary(Api):
    """A live web API upstream; offline it always fails, as the original does without network."""

    def run(self, keyword: str) -> Any:
        raise fail(OFFLINE)

    def check(self, response: dict, gold: dict) -> bool:
        return _named_output_rule(response, gold)


@register
class Translate(Api):
    """Google Translate upstream; offline it always fails (see docs for the original's ALL_PROXY crash)."""

    var_kwargs = True

    def run(self, src: str, **kw: Any) -> Any:
        raise fail(OFFLINE)

    def check(self, response: dict, gold: dict) -> bool:
        return (
            response["api_name"] == gold["api_name"]
            and response["input"]["src"] == gold["input"]["src"]
            and response["output"] == gold["output"]
            and response["exception"] == gold["exception"]
        )


@register
class PlayMusic(Api):
    def run(self, music_name: str) -> Any:
        music_name = music_name.lower().strip()
        if music_name == "":
            raise fail("The music name cannot be empty.")
        return f"music://{music_name}"

    def check(self, response: dict, gold: dict) -> bool:
        return response["output"] == gold["output"]  # output-only rule


_EMAIL = re.compile(r"^[a-z0-9]+[\._]?[a-z0-9]+[@]\w+[.]\w{2,3}$")


@register
class SendEmail(Api):
    def run(self, receiver: str, subject: str, content: str) -> Any:
        receiver, subject, content = receiver.strip(), subject.strip(), content.strip()
        if not _EMAIL.match(receiver):
            raise fail("Email address of the receiver is invalid.")
        if subject == "":
            raise fail("Subject cannot be empty.")
        if content == "":
            raise fail("Content cannot be empty.")
        return "success"

    def check(self, response: dict, gold: dict) -> bool:
        ri, gi = response["input"], gold["input"]
        return (
            ri["receiver"].strip().lower() == gi["receiver"].strip().lower()
            and ri["subject"].strip() == gi["subject"].strip()
            and ri["content"].strip() == gi["content"].strip()
            and response["output"] == gold["output"]
            and response["exception"] == gold["exception"]
        )


def valid_formula(f: str) -> bool:
    """The original calculators' check (levels 1-3 alike): digits, + - * / and balanced parentheses."""
    if not f or any(c not in "0123456789+-*/()" for c in f) or f.count("(") != f.count(")"):
        return False
    ops = sum(f.count(o) for o in "+-*/")
    return ops != 0 and ops + 1 != len(f)


def _tokens(f: str) -> list[Any]:
    out: list[Any] = []
    num = ""
    for c in f:
        if c in "0123456789":  # the original's isdigit() and membership test: ASCII digits only
            num += c
            continue
        if num:
            out.append(float(num))
            num = ""
        out.append(c)
    if num:
        out.append(float(num))
    return out


def _apply(a: Any, op: str, b: Any) -> Any:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    return None


def _first_of(items: list[Any], a: str, b: str) -> int:
    if a in items and b in items:
        return min(items.index(a), items.index(b))
    return items.index(a) if a in items else items.index(b)


def _evaluate(items: list[Any]) -> Any:
    """The original calculator: innermost-by-position parentheses, then * and / left to right, then + and -.
    Malformed input fails the way the original's list surgery fails (IndexError, TypeError...)."""
    while "(" in items:
        lo, hi = items.index("("), items.index(")")
        items[lo : hi + 1] = [_evaluate(items[lo + 1 : hi])]
    for a, b in (("*", "/"), ("+", "-")):
        while a in items or b in items:
            i = _first_of(items, a, b)
            items[i - 1 : i + 2] = [_apply(items[i - 1], items[i], items[i + 1])]
    return items[0]


def calculate(formula: str) -> Any:
    """A formula that passed `valid_formula`, computed the way the original calculators do."""
    return _evaluate(_tokens(formula))


@register
class Calculator(Api):
    def run(self, formula: str) -> Any:
        formula = formula.replace(" ", "")
        if not valid_formula(formula):
            raise fail("invalid formula")
        return calculate(formula)

    def check(self, response: dict, gold: dict) -> bool:
        return (
            response["input"]["formula"].replace(" ", "") == gold["input"]["formula"].replace(" ", "")
            and response["output"] == gold["output"]
            and response["exception"] == gold["exception"]
        )


@register
class GetToday(Api):
    """Fixed date; correct whenever it returns something (the output-only rule)."""

    def call(self, **kw: Any) -> dict[str, Any]:
        return self.response(None, "2023-03-31", None)

    def check(self, response: dict, gold: dict) -> bool:
        return response["output"] is not None and response["exception"] is None and response["input"] is None


def _stock_args(code: str, date: str) -> tuple[Any, Any]:
    code = code.upper().strip() or None
    text = pad_year(date)
    try:
        return code, datetime.datetime.strptime(text, D).strftime(D)
    except Exception as exc:
        return code, exc


@register
class QueryStock(Api):
    def run(self, stock_code: str, date: str) -> Any:
        code, day = _stock_args(stock_code, date)
        if code is None:
            raise fail("The stock code cannot be empty.")
        if isinstance(day, Exception):
            raise day
        if code not in self.db:
            raise fail("The stock code does not exist.")
        if day not in self.db[code]:
            raise fail("The stock price of this date is not maintained.")
        return self.db[code][day]

    def check(self, response: dict, gold: dict) -> bool:
        r = _stock_args(response["input"]["stock_code"], response["input"]["date"])
        g = _stock_args(gold["input"]["stock_code"], gold["input"]["date"])
        return r[0] == g[0] and r[1] == g[1] and response["output"] == gold["output"] and response["exception"] == gold["exception"]


@register
class QueryBalance(Api):
    def run(self, token: str) -> Any:
        try:
            token.strip()
            username = self.env.check_token(token)
        except Exception:
            raise fail("The token is incorrect.") from None
        if username not in self.db:
            raise fail("The user does not have an account.")
        return self.db[username]["balance"]

    def check(self, response: dict, gold: dict) -> bool:
        return (
            response["input"]["token"].strip() == gold["input"]["token"].strip()
            and response["output"] == gold["output"]
            and response["exception"] == gold["exception"]
        )


@register
class OpenBankAccount(Api):
    def default_db(self) -> Any:
        return {0: {"account": "test", "password": "test", "name": "yifei"}}

    def run(self, account: str, password: str, name: str) -> Any:
        if any(rec["account"] == account for rec in self.db.values()):
            return "failed"
        self.db[len(self.db) + 1] = {"account": account, "password": password, "name": name}
        return "success"


@register
class BookHotel(Api):
    def run(self, hotel_name: str, check_in_time: str, check_out_time: str, room_count: Any, adult_count: Any, child_count: Any) -> Any:
        datetime.datetime.strptime(check_in_time, D)
        datetime.datetime.strptime(check_out_time, D)
        order = {
            "hotel_name": hotel_name,
            "check_in_time": check_in_time,
            "check_out_time": check_out_time,
            "room_count": room_count,
            "adult_count": adult_count,
            "child_count": child_count,
        }
        if adult_count > 2 and room_count == 1:
            raise fail("The number of adults is greater than 2. Two rooms are ordered.")
        cin, cout = datetime.datetime.strptime(check_in_time, D), datetime.datetime.strptime(check_out_time, D)
        for other in self.db.values():
            if other["hotel_name"] == hotel_name:
                o_in = datetime.datetime.strptime(other["check_in_time"], D)
                o_out = datetime.datetime.strptime(other["check_out_time"], D)
                if o_in <= cin < o_out or o_in < cout <= o_out:
                    raise fail("The room is not available.")
        order_id = str(len(self.db) + 1)
        self.db[order_id] = order
        return order_id


__all__ = ["exact"]
