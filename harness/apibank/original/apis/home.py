"""Smart-home APIs: scenes and timed switches (names compared after strip+lower)."""

from __future__ import annotations

from typing import Any

from harness.apibank.original.apis.base import DT, Api, fail, normalise, pad_year, register


def _clean_devices(devices: Any) -> None:
    """The original's in-place device validation; on a string (what the parser yields) it fails at the first char."""
    seen = set()
    for device in devices:
        if "name" not in device or "description" not in device:
            raise fail("Invalid device format.")
        device["name"] = device["name"].strip().lower()
        device["description"] = device["description"].strip()
        if device["name"] in seen:
            raise fail("Device name cannot be duplicated.")
        seen.add(device["name"])
    devices.sort(key=lambda x: x["name"])


def _scene_name(name: str) -> str:
    name = name.strip().lower()
    if name == "":
        raise fail("Scene name cannot be empty.")
    return name


def _normalise_devices(devices: Any) -> None:
    # On string devices `device['name']` raises TypeError: the original evaluator crashes there.
    for device in devices:
        device["name"] = device["name"].strip().lower()
        device["description"] = device["description"].strip()
    devices.sort(key=lambda x: x["name"])


def _scene_rule(response: dict, gold: dict, output_rule: str) -> bool:
    rn = response["input"]["name"].strip().lower()
    gn = gold["input"]["name"].strip().lower()
    rd, gd = response["input"]["devices"], gold["input"]["devices"]
    _normalise_devices(rd)
    _normalise_devices(gd)
    if rn != gn or rd != gd:
        return False
    if output_rule == "none" and gold["output"] is None and response["output"] is not None:
        return False
    if output_rule == "equal" and response["output"] != gold["output"]:
        return False
    return response["exception"] == gold["exception"]


@register
class AddScene(Api):
    def run(self, name: str, devices: Any) -> Any:
        name = _scene_name(name)
        _clean_devices(devices)
        if name in self.db:
            raise fail("Scene name already exists.")
        self.db[name] = devices
        return "success"

    def check(self, response: dict, gold: dict) -> bool:
        return _scene_rule(response, gold, "none")


@register
class ModifyScene(Api):
    def run(self, name: str, devices: Any) -> Any:
        name = _scene_name(name)
        _clean_devices(devices)
        if name not in self.db:
            raise fail("The scene does not exist.")
        self.db[name] = devices
        return "success"

    def check(self, response: dict, gold: dict) -> bool:
        return _scene_rule(response, gold, "equal")


def _name_rule(response: dict, gold: dict) -> bool:
    return (
        response["input"]["name"].strip().lower() == gold["input"]["name"].strip().lower()
        and response["output"] == gold["output"]
        and response["exception"] == gold["exception"]
    )


@register
class DeleteScene(Api):
    def run(self, name: str) -> Any:
        name = _scene_name(name)
        if name not in self.db:
            raise fail("The scene does not exist.")
        del self.db[name]
        return "success"

    def check(self, response: dict, gold: dict) -> bool:
        return _name_rule(response, gold)


@register
class QueryScene(Api):
    def run(self, name: str) -> Any:
        name = _scene_name(name)
        if name not in self.db:
            raise fail("Scene not found.")
        return self.db[name]

    def check(self, response: dict, gold: dict) -> bool:
        return _name_rule(response, gold)


def _switch_time(time: str) -> Any:
    return normalise(time, DT)


@register
class TimedSwitch(Api):
    def run(self, name: str, time: str, on: Any) -> Any:
        name = name.strip().lower()
        if name == "":
            raise fail("Name cannot be empty.")
        time = _switch_time(time)
        if isinstance(time, Exception):
            raise time
        entries = self.db.setdefault(name, [])
        for entry in entries:
            if entry["time"] == time:
                entry["on"] = on
                return "success"
        entries.append({"time": time, "on": on})
        return "success"

    def check(self, response: dict, gold: dict) -> bool:
        ri, gi = response["input"], gold["input"]
        return (
            ri["name"].strip().lower() == gi["name"].strip().lower()
            and _switch_time(ri["time"]) == _switch_time(gi["time"])
            and ri["on"] == gi["on"]
            and response["output"] == gold["output"]
            and response["exception"] == gold["exception"]
        )


@register
class CancelTimedSwitch(Api):
    def run(self, name: str, time: str) -> Any:
        name = name.strip().lower()
        if name == "":
            raise fail("name cannot be empty.")
        time = _switch_time(time)
        if isinstance(time, Exception):
            raise time
        if name not in self.db:
            raise fail("device name does not exist.")
        for i, entry in enumerate(self.db[name]):
            if entry["time"] == time:
                self.db[name].pop(i)
                return "success"
        raise fail("time does not exist.")

    def check(self, response: dict, gold: dict) -> bool:
        ri, gi = response["input"], gold["input"]
        return (
            ri["name"].strip().lower() == gi["name"].strip().lower()
            and _switch_time(ri["time"]) == _switch_time(gi["time"])
            and response["output"] == gold["output"]
            and response["exception"] == gold["exception"]
        )


__all__ = ["pad_year"]
