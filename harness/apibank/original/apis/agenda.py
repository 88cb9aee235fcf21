"""Agenda, alarm and reminder APIs: token-checked records with word-overlap content rules."""

from __future__ import annotations

from typing import Any

from harness.apibank.original.apis.base import (
    Api,
    assert_same_name,
    exact,
    fail,
    parse_time,
    register,
    same_outcome,
    words_overlap,
)


def _delete_rule(response: dict, gold: dict) -> bool:
    """Delete* rule: when both succeed only `time` must agree; otherwise output and exception."""
    if gold["output"] == "success" and response["output"] == "success":
        return response["input"]["time"] == gold["input"]["time"]
    return same_outcome(response, gold)


def _content_time_location(response: dict, gold: dict) -> bool:
    ri, gi = response["input"], gold["input"]
    return (
        words_overlap(ri["content"], gi["content"])
        and ri["time"] == gi["time"]
        and ri["location"] == gi["location"]
        and same_outcome(response, gold)
    )


def _content_time_lower(response: dict, gold: dict) -> bool:
    ri, gi = response["input"], gold["input"]
    return words_overlap(ri["content"], gi["content"], lower=True) and ri["time"] == gi["time"] and same_outcome(response, gold)


def _next_id(db: dict) -> str:
    return "0" if not db.keys() else str(max(int(k) for k in db.keys()) + 1)


def _find(db: dict, username: str, match: Any) -> Any:
    for key in db:
        if db[key]["username"] == username and match(db[key]):
            return key
    return None


@register
class AddAgenda(Api):
    def run(self, token: str, content: str, time: str, location: str) -> Any:
        parse_time(time)
        if content.strip() == "":
            raise fail("Content should not be null")
        key = len(self.db) + 1
        username = self.env.check_token(token)
        self.db[key] = {"username": username, "content": content, "time": time, "location": location}
        return "success"

    def check(self, response: dict, gold: dict) -> bool:
        assert_same_name(response, gold)
        return _content_time_location(response, gold)


@register
class DeleteAgenda(Api):
    def run(self, token: str, content: str, time: str, location: str) -> Any:
        if time:
            parse_time(time)
        username = self.env.check_token(token)
        key = _find(self.db, username, lambda r: r["content"] == content or r["time"] == time)
        if key is not None:
            del self.db[key]
        else:
            if content:
                raise fail(f"You have no meeting about {content}")
            if time:
                raise fail(f"You have no meeting at time : {time}")
        return "success"

    def check(self, response: dict, gold: dict) -> bool:
        return _delete_rule(response, gold)


@register
class ModifyAgenda(Api):
    def run(self, token: str, content: str, time: str, location: str) -> Any:
        if time:
            parse_time(time)
        username = self.env.check_token(token)
        key = _find(self.db, username, lambda r: r["content"] == content or r["time"] == time)
        if key is not None:
            self.db[key] = {"username": username, "content": content, "time": time, "location": location}
            return "success"
        if content:
            raise fail(f"You have no agenda about {content}")
        if time:
            raise fail(f"You have no agenda at time : {time}")
        return Exception("Error")  # the original returns (not raises) this object

    def check(self, response: dict, gold: dict) -> bool:
        return _content_time_location(response, gold)


@register
class QueryAgenda(Api):
    def run(self, token: str, content: str, time: str, location: str) -> Any:
        if time:
            parse_time(time)
        username = self.env.check_token(token)
        key = _find(self.db, username, lambda r: r["content"] == content or r["time"] == time)
        if key is not None:
            return self.db[key]
        if content:
            raise fail(f"You have no agenda about {content}")
        if time:
            raise fail(f"You have no agenda at time : {time}")
        raise fail("Error")

    def check(self, response: dict, gold: dict) -> bool:
        return _content_time_location(response, gold)


@register
class AddAlarm(Api):
    def run(self, token: str, time: str) -> Any:
        parse_time(time)
        key = len(self.db) + 1
        username = self.env.check_token(token)
        self.db[key] = {"username": username, "time": time}
        return "success"


@register
class DeleteAlarm(Api):
    def run(self, token: str, time: str) -> Any:
        parse_time(time)
        username = self.env.check_token(token)
        key = _find(self.db, username, lambda r: r["time"] == time)
        if key is not None:
            del self.db[key]
        elif time:
            raise fail(f"You have no alarm clock at time : {time}")
        return "success"


@register
class ModifyAlarm(Api):
    def run(self, token: str, from_time: str, to_time: str) -> Any:
        parse_time(from_time)
        parse_time(to_time)
        username = self.env.check_token(token)
        key = _find(self.db, username, lambda r: r["time"] == from_time)
        if key is None:
            raise fail(f"You have no agenda at time : {from_time}")
        self.db[key] = {"username": username, "time": to_time}
        return "success"


@register
class QueryAlarm(Api):
    def run(self, token: str, time: str) -> Any:
        parse_time(time)
        username = self.env.check_token(token)
        key = _find(self.db, username, lambda r: r["time"] == time)
        if key is None:
            raise fail(f"You have no alarm clock at time : {time}")
        return self.db[key]


@register
class AddReminder(Api):
    def run(self, token: str, content: str, time: str) -> Any:
        parse_time(time)
        if content.strip() == "":
            raise fail("Content should not be null")
        key = _next_id(self.db)
        username = self.env.check_token(token)
        self.db[key] = {"username": username, "content": content, "time": time}
        return "success"

    def check(self, response: dict, gold: dict) -> bool:
        assert_same_name(response, gold)
        return _content_time_lower(response, gold)


def _reminder_lookup(api: Api, token: str, content: str, time: str) -> Any:
    parse_time(time)
    if content.strip() == "":
        raise fail("Content should not be null")
    username = api.env.check_token(token)
    key = _find(api.db, username, lambda r: r["content"] == content or r["time"] == time)
    if key is None:
        raise fail(f"You have no reminder about {content} or at time : {time}")
    return key


@register
class DeleteReminder(Api):
    def run(self, token: str, content: str, time: str) -> Any:
        del self.db[_reminder_lookup(self, token, content, time)]
        return "success"

    def check(self, response: dict, gold: dict) -> bool:
        return _delete_rule(response, gold)


@register
class ModifyReminder(Api):
    def run(self, token: str, content: str, time: str) -> Any:
        key = _reminder_lookup(self, token, content, time)
        self.db[key]["content"] = content
        self.db[key]["time"] = time
        return "success"

    def check(self, response: dict, gold: dict) -> bool:
        assert_same_name(response, gold)
        return _content_time_lower(response, gold)


@register
class QueryReminder(Api):
    def run(self, token: str, content: str, time: str) -> Any:
        return self.db[_reminder_lookup(self, token, content, time)]

    def check(self, response: dict, gold: dict) -> bool:
        return _content_time_lower(response, gold)


__all__ = ["exact"]
