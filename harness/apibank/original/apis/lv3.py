"""Our implementations of API-Bank's Level-3 APIs (`lv3_apis/`), by original class name.

Level-3 tools keep their data in code, not in init_database, and the original
evaluator builds ONE ToolManager for the whole prediction file, so a tool's
state lives across steps. Two APIs mutate their data when they answer
(FlightSearch, HotelAvailability turn matched datetimes into strings in place),
which makes a second matching call fail; we keep that, because the verdicts
depend on it. Which exceptions each API swallows into its `exception` field is
also kept: GetWeatherForCoordinates lets an unmatched lookup escape as a
TypeError, which the evaluator counts as a failed step. Names, descriptions and
parameter declarations are data in lv3_specs.json.
"""

from __future__ import annotations

import datetime
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.apibank.original.apis.base import words_overlap
from harness.apibank.original.apis.info import calculate, valid_formula
from harness.apibank.original.env import MissingArgument
from harness.apibank.original.toolsearcher import SearcherMixin, best_candidate, candidate

DT = "%Y-%m-%d %H:%M:%S"
D = "%Y-%m-%d"
LV3_REGISTRY: dict[str, type[Lv3Api]] = {}


@lru_cache(maxsize=1)
def lv3_specs() -> dict[str, dict[str, Any]]:
    """name -> {module, description, input_parameters, output_parameters} of the 22 Level-3 APIs."""
    raw = json.loads(Path(__file__).with_name("lv3_specs.json").read_text(encoding="utf-8"))
    return {s["name"]: s for s in raw}


def register(cls: type[Lv3Api]) -> type[Lv3Api]:
    spec = lv3_specs()[cls.__name__]
    cls.input_parameters = spec["input_parameters"]
    cls.description = spec["description"]
    cls.output_parameters = spec["output_parameters"]
    LV3_REGISTRY[cls.__name__] = cls
    return cls


class Lv3Api:
    input_parameters: dict[str, dict[str, str]] = {}
    description = ""
    output_parameters: dict[str, Any] = {}
    catches: type[BaseException] = Exception  # what call() turns into the `exception` field

    def __init__(self) -> None:
        self.setup()

    def setup(self) -> None:
        """Fresh in-code data (the original's __init__)."""

    def call(self, **kw: Any) -> dict[str, Any]:
        missing = [n for n in self.input_parameters if n not in kw]
        if missing:
            raise MissingArgument(f"call() missing required positional argument(s): {missing}")
        inputs = {n: kw[n] for n in self.input_parameters}
        try:
            output = self.run(**inputs)
        except self.catches as exc:
            return self.response(inputs, None, str(exc))
        return self.response(inputs, output, None)

    def response(self, inputs: dict[str, Any], output: Any, exception: str | None) -> dict[str, Any]:
        return {"api_name": type(self).__name__, "input": inputs, "output": output, "exception": exception}

    def run(self, **kw: Any) -> Any:
        raise NotImplementedError

    def check(self, response: dict[str, Any], gold: dict[str, Any]) -> bool:
        """The common rule: same API name (asserted), then exact output, exception and input."""
        _same_name(response, gold)
        return response["output"] == gold["output"] and response["exception"] == gold["exception"] and response["input"] == gold["input"]


def _same_name(response: dict[str, Any], gold: dict[str, Any]) -> None:
    if response["api_name"] != gold["api_name"]:
        raise AssertionError("The API name is not correct.")


def _unchecked_name(response: dict[str, Any], gold: dict[str, Any]) -> bool:
    return response["output"] == gold["output"] and response["exception"] == gold["exception"] and response["input"] == gold["input"]


_ACCOUNTS = (("John", "123456", "john@example.com", "1234567890"), ("Mary", "abcdef", "mary@example.com", "0987654321"),
             ("Peter", "qwerty", "peter@example.com", "1231231234"), ("Tom", "asdfgh", "tom@example.com", "4564564567"),
             ("Jerry", "zxcvbn", "jerry@example.com", "7897897890"))  # fmt: skip


def _account_table() -> list[tuple[tuple[str, str], dict[str, str]]]:
    return [((u, p), {"email": e, "phone": ph}) for u, p, e, ph in _ACCOUNTS]


@register
class AccountInfo(Lv3Api):
    def setup(self) -> None:
        self.table = _account_table()

    def run(self, username: str, password: str) -> Any:
        for (user, pwd), info in self.table:
            if user == username and pwd == password:
                return info
        raise Exception("User not found.")


@register
class PersonalInfoUpdate(Lv3Api):
    def setup(self) -> None:
        self.table = _account_table()  # its own copy: AccountInfo never sees the address

    def run(self, username: str, password: str, address: Any) -> Any:
        for (user, pwd), info in self.table:
            if user == username and pwd == password:
                info["address"] = address
                return {"status": "success"}
        raise Exception("User not found.")

    def check(self, response: dict[str, Any], gold: dict[str, Any]) -> bool:
        _same_name(response, gold)
        return response["input"] == gold["input"] and response["output"] == gold["output"]


@register
class AddMeeting(Lv3Api):
    def setup(self) -> None:
        self.meetings: list[dict[str, Any]] = []

    def run(self, meeting_topic: str, start_time: str, end_time: str, location: str, attendees: Any) -> Any:
        datetime.datetime.strptime(start_time, DT)
        datetime.datetime.strptime(end_time, DT)
        if meeting_topic.strip() == "":
            raise Exception("Meeting Topic should not be null")
        self.meetings.append({"meeting_topic": meeting_topic, "start_time": start_time, "end_time": end_time, "location": location, "attendees": attendees})
        return "success"

    def check(self, response: dict[str, Any], gold: dict[str, Any]) -> bool:
        """Topic word-set Jaccard > 0.5 (case-sensitive), the rest exact; no name assertion."""
        topic_ok = words_overlap(response["input"]["meeting_topic"], gold["input"]["meeting_topic"])
        response["input"].pop("meeting_topic")
        gold["input"].pop("meeting_topic")
        return topic_ok and response["input"] == gold["input"] and response["output"] == gold["output"] and response["exception"] == gold["exception"]


@register
class Calculator(Lv3Api):
    def run(self, formula: str) -> Any:
        formula = formula.replace(" ", "")
        if not valid_formula(formula):
            raise Exception("invalid formula")
        return calculate(formula)

    def check(self, response: dict[str, Any], gold: dict[str, Any]) -> bool:
        """Formula compared without spaces; no name assertion."""
        same = response["input"]["formula"].replace(" ", "") == gold["input"]["formula"].replace(" ", "")
        return same and response["output"] == gold["output"] and response["exception"] == gold["exception"]


@register
class ClothingRecommendation(Lv3Api):
    def run(self, temperature: float, humidity: float, weather_conditions: str) -> Any:
        options: list[str] = []
        if temperature < 10:
            options += ["Warm coat", "Hat", "Gloves"]
        if 10 <= temperature < 20:
            options += ["Light jacket", "Long-sleeved shirt"]
        if 20 <= temperature < 30:
            options += ["T-shirt", "Shorts"]
        if temperature >= 30:
            options += ["Sun hat", "Sunglasses", "Loose-fitting clothes"]
        if humidity > 70:
            options += ["Umbrella", "Waterproof shoes"]
        if "rain" in weather_conditions.lower():
            options.append("Raincoat")
        return {"clothing_options": options}


@register
class EmailReminder(Lv3Api):
    def run(self, content: str, time: str, location: str, recipient: str) -> Any:
        datetime.datetime.strptime(time, DT)
        if content.strip() == "":
            raise Exception("Content should not be empty")
        return "success"

    def check(self, response: dict[str, Any], gold: dict[str, Any]) -> bool:
        """The email content is not compared at all."""
        _same_name(response, gold)
        response["input"].pop("content")
        gold["input"].pop("content")
        return _unchecked_name(response, gold)


_ROUTES = (("New York", "San Francisco", 1), ("Los Angeles", "San Francisco", 2), ("London", "San Francisco", 3),
           ("New York", "London", 4), ("New York", "Los Angeles", 5))  # fmt: skip


@register
class FlightSearch(Lv3Api):
    def setup(self) -> None:
        self.flights = [
            {"source": s, "destination": d, "departure_date": datetime.datetime(2022, 1, day, 12), "arrival_date": datetime.datetime(2022, 1, day, 15)}
            for s, d, day in _ROUTES
        ]

    def run(self, source: str, destination: str, travel_dates: str) -> Any:
        day = datetime.datetime.strptime(travel_dates, D)
        found = []
        for flight in self.flights:
            # once a flight was returned its dates are strings, and `.date()` fails (as in the original)
            if flight["source"] == source and flight["destination"] == destination and flight["departure_date"].date() == day.date():
                flight["departure_date"] = flight["departure_date"].strftime(DT)
                flight["arrival_date"] = flight["arrival_date"].strftime(DT)
                found.append(flight)
        return {"flights": found}


@register
class Geocoding(Lv3Api):
    PLACES = {"New York City": (40.7128, 74.0060), "San Francisco": (37.7749, 122.4194), "London": (51.5074, 0.1278),
              "Paris": (48.8566, 2.3522), "Tokyo": (35.6762, 139.6503)}  # fmt: skip

    def run(self, address: str) -> Any:
        lat, lon = self.PLACES[address]
        return {"latitude": lat, "longitude": lon}


@register
class GetOccupationSalary(Lv3Api):
    SALARY = {"Financial Analyst": 100000, "Software Engineer": 120000, "Data Scientist": 150000, "Product Manager": 130000, "Doctor": 200000}

    def run(self, occupation: str) -> Any:
        if occupation not in self.SALARY:
            raise Exception("The occupation is not in the database.")
        return {"salary": self.SALARY[occupation]}


class _NetworkError(Exception):
    """Stands for requests.RequestException: the only error the original weather API catches."""


@register
class GetWeatherForCoordinates(Lv3Api):
    catches = _NetworkError
    WEATHER = (((40.7128, 74.0060), (10, 0.5, "Clear")), ((37.7749, 122.4194), (20, 0.8, "Cloudy")),
               ((51.5074, 0.1278), (5, 0.9, "Rainy")), ((48.8566, 2.3522), (15, 0.7, "Sunny")),
               ((35.6762, 139.6503), (25, 0.6, "Rainy")))  # fmt: skip

    def run(self, latitude: float, longitude: float) -> Any:
        for coords, (temp, hum, desc) in self.WEATHER:
            if coords == (latitude, longitude):
                return {"temperature": temp, "humidity": hum, "description": desc}
        raise TypeError("'NoneType' object is not subscriptable")  # unmatched: escapes call(), a TypeError step

    def check(self, response: dict[str, Any], gold: dict[str, Any]) -> bool:
        return _unchecked_name(response, gold)


@register
class HotelAvailability(Lv3Api):
    def setup(self) -> None:
        self.hotels = {
            f"hotel_{i}": {"destination": "San Francisco", "check_in_date": datetime.datetime(2022, 1, i), "check_out_date": datetime.datetime(2022, 1, i + 1)}
            for i in range(1, 6)
        }

    def run(self, destination: str, check_in_date: str, check_out_date: str) -> Any:
        datetime.datetime.strptime(check_in_date, D)
        datetime.datetime.strptime(check_out_date, D)
        found = []
        for hotel in self.hotels.values():
            if hotel["destination"] == destination and _hotel_free(hotel, check_in_date, check_out_date):
                # a hotel returned before holds strings now: `.strftime` fails, as in the original
                hotel["check_in_date"] = hotel["check_in_date"].strftime(D)
                hotel["check_out_date"] = hotel["check_out_date"].strftime(D)
                found.append(hotel)
        return {"hotels": found}

    def check(self, response: dict[str, Any], gold: dict[str, Any]) -> bool:
        """Inputs and the hotel list only; a None output makes the original crash (TypeError)."""
        _same_name(response, gold)
        r, g = response["input"], gold["input"]
        same_in = all(r[k] == g[k] for k in ("destination", "check_in_date", "check_out_date"))
        return same_in and response["output"]["hotels"] == gold["output"]["hotels"]


def _as_day(value: Any) -> datetime.datetime:
    return value if isinstance(value, datetime.datetime) else datetime.datetime.strptime(value, D)


def _hotel_free(hotel: dict[str, Any], check_in: str, check_out: str) -> bool:
    return datetime.datetime.strptime(check_in, D) >= _as_day(hotel["check_in_date"]) and datetime.datetime.strptime(check_out, D) <= _as_day(hotel["check_out_date"])


@register
class LikeCount(Lv3Api):
    def run(self, post_id: int) -> Any:
        if post_id not in range(1, 16):
            raise Exception(f"Post with ID {post_id} does not exist.")
        return {"like_count": post_id * 10}


@register
class MovieRecommendations(Lv3Api):
    GENRES = {"Action": ["The Dark Knight", "The Matrix", "The Lord of the Rings"], "Comedy": ["The Hangover", "Knives Out", "Deadpool"],
              "Drama": ["The Shawshank Redemption", "Forrest Gump", "Joker"], "Romance": ["Titanic", "La La Land", "The Notebook"],
              "Thriller": ["Inception", "Parasite", "Get Out"]}  # fmt: skip

    def run(self, preferences: Any) -> Any:
        movies: list[str] = []
        for genre in preferences:  # a parsed "['Action']" is a string: its first character is looked up
            movies.extend(self.GENRES[genre])
        return {"recommended_movies": movies}


@register
class NearbyRestaurants(Lv3Api):
    def run(self, latitude: float, longitude: float, distance: int) -> Any:
        a, b = (40.7128, 74.0060), (37.7749, 122.4194)
        return {"restaurants": [{"coordinates": c, "name": f"Restaurant {n}"} for c, n in ((a, "A"), (b, "B"), (a, "C"), (b, "D"))]}

    def check(self, response: dict[str, Any], gold: dict[str, Any]) -> bool:
        _same_name(response, gold)
        return response["input"] == gold["input"]


@register
class OrganizationMembers(Lv3Api):
    ORGS = {"Alibaba": ["John", "Mary", "Peter"], "Tencent": ["Tom", "Jerry"], "Baidu": ["Jack", "Rose"], "ByteDance": ["Bob", "Alice"], "JD": ["Mike", "Jane"]}

    def run(self, organization: str) -> Any:
        return {"members": list(self.ORGS[organization])}


def _meeting(mid: int, name: str, day: int, room: str, people: list[str]) -> dict[str, Any]:
    when = datetime.datetime(2021, 1, day, 10).strftime(DT)
    return {"meeting_id": mid, "meeting_name": name, "meeting_time": when, "meeting_location": room, "meeting_attendees": people}


@register
class QueryMeeting(Lv3Api):
    def run(self, user_name: str) -> Any:
        trio = ["John", "Mary", "Peter"]
        pair = [_meeting(1, "Meeting with the client", 1, "Room 1", trio), _meeting(2, "Meeting about the new project", 2, "Room 2", trio)]
        table = {n: pair for n in trio} | {n: [_meeting(1, "Meeting", 1, "Room 1", ["Tom", "Jerry"])] for n in ("Tom", "Jerry")}
        return {"meetings": table[user_name]}


@register
class TaxCalculator(Lv3Api):
    RATES = ((float("inf"), 0.4), (5000, 0.3), (3000, 0.2), (1000, 0.1), (0, 0.0))

    def run(self, salary: float) -> Any:
        rate = next(r for threshold, r in self.RATES if salary >= threshold)
        return {"salary_after_tax": salary - salary * rate}

    def check(self, response: dict[str, Any], gold: dict[str, Any]) -> bool:
        """Salary in, salary out, exception; a None output makes the original crash (TypeError)."""
        _same_name(response, gold)
        same_in = response["input"]["salary"] == gold["input"]["salary"]
        return same_in and response["output"]["salary_after_tax"] == gold["output"]["salary_after_tax"] and response["exception"] == gold["exception"]


@register
class TravelStatus(Lv3Api):
    STATUS = {"John": "Traveling", "Mary": "Working from home", "Peter": "Working from office", "Tom": "Traveling", "Jerry": "Working from home",
              "Jack": "Working from office", "Rose": "Working from office", "Bob": "Traveling", "Alice": "Working from home",
              "Mike": "Working from office", "Jane": "Working from office"}  # fmt: skip

    def run(self, member_name: str) -> Any:
        return self.STATUS[member_name]


@register
class UserPosts(Lv3Api):
    def run(self, user_id: int) -> Any:
        table = {u: [3 * u - 2, 3 * u - 1, 3 * u] for u in range(1, 6)}
        return {"post_ids": table[user_id]}


_WATCHED_A = ["The Matrix", "The Lord of the Rings", "The Dark Knight"]
_WATCHED_B = ["The Lord of the Rings", "The Dark Knight", "The Matrix"]


@register
class UserWatchedMovies(Lv3Api):
    WATCHED = {"John": _WATCHED_A, "Mary": _WATCHED_B, "Peter": _WATCHED_A, "Tom": _WATCHED_B, "Jerry": _WATCHED_A}

    def run(self, user_name: str) -> Any:
        if user_name not in self.WATCHED:
            raise Exception("User not found.")
        return list(self.WATCHED[user_name])


@register
class UserMoviePreferences(Lv3Api):
    PREFS = {"John": ["Action", "Comedy", "Drama"], "Mary": ["Comedy", "Drama", "Romance"], "Peter": ["Action", "Drama", "Thriller"],
             "Tom": ["Action", "Comedy", "Drama"], "Jerry": ["Comedy", "Drama", "Romance"]}  # fmt: skip

    def run(self, user_name: str) -> Any:
        return {"preferences": list(self.PREFS[user_name])}


def lv3_candidates() -> list[dict[str, Any]]:
    """ToolSearcher's Level-3 library: every API but ToolSearcher, in module-file order (sorted here)."""
    ordered = sorted(lv3_specs().items(), key=lambda kv: kv[1]["module"])
    return [candidate(name, s) for name, s in ordered if name != "ToolSearcher"]


@register
class ToolSearcher(SearcherMixin, Lv3Api):
    def run(self, keywords: str) -> Any:
        best = best_candidate(keywords, lv3_candidates(), self.encoder)
        if "token" in best["input_parameters"]:  # no Level-3 API takes a token; the original would fail here
            raise Exception("'ToolSearcher' object has no attribute 'get_user_token_api'")
        return best
