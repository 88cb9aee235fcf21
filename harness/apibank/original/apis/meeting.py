"""Meeting APIs: the topic is judged by word overlap, the rest of the input exactly."""

from __future__ import annotations

from typing import Any

from harness.apibank.original.apis.base import Api, fail, parse_time, register, same_outcome, words_overlap


def _topic_rule(response: dict, gold: dict) -> bool:
    """Overlap on meeting_topic, then exact input without it. Pops the topic from both, as the original does
    (the error classification after a wrong verdict sees the popped inputs)."""
    ok = words_overlap(response["input"]["meeting_topic"], gold["input"]["meeting_topic"])
    response["input"].pop("meeting_topic")
    gold["input"].pop("meeting_topic")
    return ok and response["input"] == gold["input"] and same_outcome(response, gold)


def _validate(meeting_topic: str, start_time: str, end_time: str) -> None:
    if start_time:
        parse_time(start_time)
    if end_time:
        parse_time(end_time)
    if meeting_topic.strip() == "" and not start_time:
        raise fail("Meeting Topic and start_time should not be null both")


def _find(db: dict, username: str, topic: str, start: str) -> Any:
    for key in db:
        if db[key]["username"] == username and (db[key]["meeting_topic"] == topic or db[key]["start_time"] == start):
            return key
    return None


def _not_found(topic: str, start: str) -> None:
    if topic:
        raise fail(f"You have no meeting about {topic}")
    if start:
        raise fail(f"You have no meeting at time : {start}")


@register
class AddMeeting(Api):
    def run(self, token: str, meeting_topic: str, start_time: str, end_time: str, location: str, attendees: Any) -> Any:
        parse_time(start_time)
        parse_time(end_time)
        if meeting_topic.strip() == "":
            raise fail("Meeting Topic should not be null")
        key = "0" if not self.db.keys() else str(max(int(i) for i in self.db.keys()) + 1)
        username = self.env.check_token(token)
        self.db[key] = {
            "username": username,
            "meeting_topic": meeting_topic,
            "start_time": start_time,
            "end_time": end_time,
            "location": location,
            "attendees": attendees,
        }
        return "success"

    def check(self, response: dict, gold: dict) -> bool:
        return _topic_rule(response, gold)


@register
class DeleteMeeting(Api):
    def run(self, token: str, meeting_topic: str, start_time: str, end_time: str, location: str, attendees: Any) -> Any:
        _validate(meeting_topic, start_time, end_time)
        username = self.env.check_token(token)
        key = _find(self.db, username, meeting_topic, start_time)
        if key is not None:
            del self.db[key]
        else:
            _not_found(meeting_topic, start_time)
        return "success"

    def check(self, response: dict, gold: dict) -> bool:
        # The original reads input['time'], which meetings do not have: a KeyError when both succeed.
        if gold["output"] == "success" and response["output"] == "success":
            return response["input"]["time"] == gold["input"]["time"]
        return same_outcome(response, gold)


@register
class ModifyMeeting(Api):
    def run(self, token: str, meeting_topic: str, start_time: str, end_time: str, location: str, attendees: Any) -> Any:
        _validate(meeting_topic, start_time, end_time)
        username = self.env.check_token(token)
        key = _find(self.db, username, meeting_topic, start_time)
        if key is None:
            _not_found(meeting_topic, start_time)
            return "success"
        if meeting_topic:
            self.db[key]["meeting_topic"] = meeting_topic
        if start_time:
            self.db[key]["start_time"] = start_time
            self.db[key]["end_time"] = end_time
        return "success"

    def check(self, response: dict, gold: dict) -> bool:
        return _topic_rule(response, gold)


@register
class QueryMeeting(Api):
    def run(self, token: str, meeting_topic: str, start_time: str, end_time: str, location: str, attendees: Any) -> Any:
        _validate(meeting_topic, start_time, end_time)
        username = self.env.check_token(token)
        key = _find(self.db, username, meeting_topic, start_time)
        if key is not None:
            return self.db[key]
        _not_found(meeting_topic, start_time)
        return Exception("Error")  # returned, not raised, in the original

    def check(self, response: dict, gold: dict) -> bool:
        return _topic_rule(response, gold)
