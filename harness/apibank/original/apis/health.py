"""Hospital and health APIs: appointments, health records, symptom look-ups (dates normalised)."""

from __future__ import annotations

import datetime
import random
from typing import Any

from harness.apibank.original.apis.base import DT, Api, D, fail, normalise, pad_year, register


def _date(value: str) -> Any:
    return normalise(value, D)


@register
class AppointmentRegistration(Api):
    def run(self, patient_name: str, date: str, doctor_name: str) -> Any:
        patient_name, doctor_name = patient_name.strip(), doctor_name.strip()
        if patient_name == "" or doctor_name == "":
            raise fail("Patient name or doctor name cannot be empty.")
        date = _date(date)
        if isinstance(date, Exception):
            raise date
        for appt in self.db.values():
            if appt["patient_name"] == patient_name and _date(appt["date"]) == date:
                if appt["doctor_name"] == doctor_name:
                    raise fail("This appointment has already been registered.")
                raise fail("This patient has already been registered in this day.")
        appt_id = str(random.randint(10000000, 99999999))
        while appt_id in self.db:
            appt_id = str(random.randint(10000000, 99999999))
        self.db[appt_id] = {"patient_name": patient_name, "date": date, "doctor_name": doctor_name}
        return appt_id

    def check(self, response: dict, gold: dict) -> bool:
        ri, gi = response["input"], gold["input"]
        if ri["patient_name"].strip() != gi["patient_name"].strip():
            return False
        if _date(ri["date"]) != _date(gi["date"]):
            return False
        if ri["doctor_name"].strip() != gi["doctor_name"].strip():
            return False
        if gold["output"] is None and response["output"] is not None:
            return False
        return response["exception"] == gold["exception"]

    def adopt(self, recorded: dict, response: dict) -> None:
        new, rec = response.get("output"), recorded.get("output")
        if isinstance(new, str) and isinstance(rec, str) and new in self.db and rec != new:
            self.db[rec] = self.db.pop(new)


@register
class CancelRegistration(Api):
    def run(self, appointment_id: str) -> Any:
        appointment_id = appointment_id.strip()
        if appointment_id not in self.db:
            raise fail("The appointment ID is incorrect.")
        del self.db[appointment_id]
        return "success"

    def check(self, response: dict, gold: dict) -> bool:
        return (
            response["input"]["appointment_id"].strip() == gold["input"]["appointment_id"].strip()
            and response["output"] == gold["output"]
            and response["exception"] == gold["exception"]
        )


@register
class ModifyRegistration(Api):
    optional = ("new_appointment_date", "new_appointment_doctor")

    def run(self, appointment_id: str, new_appointment_date: Any = None, new_appointment_doctor: Any = None) -> Any:
        appointment_id = appointment_id.strip()
        if appointment_id not in self.db:
            raise fail("The appointment ID does not exist.")
        rec = self.db[appointment_id]
        date, doctor = new_appointment_date, new_appointment_doctor
        if date is not None:
            date = _date(date)
        if doctor is not None:
            doctor = doctor.strip()
            if doctor == "":
                raise fail("Fail because the doctor name is empty.")
        if isinstance(date, Exception):
            raise date
        if date is None and doctor is None:
            raise fail("Fail because no modification is made.")
        if date is None:
            if doctor == rec["doctor_name"]:
                raise fail("Fail because doctor is not changed.")
            rec["doctor_name"] = doctor
        elif doctor is None:
            if date == rec["date"]:
                raise fail("Fail because date is not changed.")
            rec["date"] = date
        else:
            if date == rec["date"] and doctor == rec["doctor_name"]:
                raise fail("Fail because no modification is made.")
            if date == rec["date"]:
                raise fail("Fail because date is not changed.")
            if doctor == rec["doctor_name"]:
                raise fail("Fail because doctor is not changed.")
            rec["date"], rec["doctor_name"] = date, doctor
        return "success"

    def check(self, response: dict, gold: dict) -> bool:
        ri, gi = response["input"], gold["input"]
        r_id, g_id = str(ri["appointment_id"]).strip(), gi["appointment_id"].strip()
        r_date, g_date = ri["new_appointment_date"], gi["new_appointment_date"]
        r_doc, g_doc = ri["new_appointment_doctor"], gi["new_appointment_doctor"]
        r_date = _date(r_date) if r_date is not None else None
        g_date = _date(g_date) if g_date is not None else None
        r_doc = r_doc.strip() if r_doc is not None else None
        g_doc = g_doc.strip() if g_doc is not None else None
        return (
            r_id == g_id
            and r_date == g_date
            and r_doc == g_doc
            and response["output"] == gold["output"]
            and response["exception"] == gold["exception"]
        )


@register
class QueryRegistration(Api):
    def run(self, patient_name: str, date: str) -> Any:
        patient_name = patient_name.strip()
        date = _date(date)
        if isinstance(date, Exception):
            raise date
        found = {k: v for k, v in self.db.items() if v["patient_name"] == patient_name and _date(v["date"]) == date}
        if not found:
            raise fail("No appointments found.")
        return found

    def check(self, response: dict, gold: dict) -> bool:
        ri, gi = response["input"], gold["input"]
        r_name, g_name = ri["patient_name"].strip(), gi["patient_name"].strip()
        r_date, g_date = _date(ri["date"]), _date(gi["date"])
        return r_name == g_name and r_date == g_date and response["output"] == gold["output"] and response["exception"] == gold["exception"]


@register
class RecordHealthData(Api):
    """health_data is a list in the data but always a string from the parser: every parsed call fails."""

    optional = ("health_data",)

    def run(self, user_id: str, time: str, health_data: Any = None) -> Any:
        user_id = user_id.upper().strip()
        if user_id == "":
            raise fail("The user id cannot be empty.")
        time = normalise(time, DT)
        if isinstance(time, Exception):
            raise time
        if health_data is None or len(health_data) == 0:
            raise fail("The health data cannot be empty.")
        names = set()
        for item in health_data:
            if "name" not in item:
                raise fail("The health data has invalid format.")
            if item["name"] in names:
                raise fail("The health data cannot contain duplicate items.")
            names.add(item["name"])
        records = self.db.setdefault(user_id, [])
        target = None
        for record in records:
            if record["time"] == time:
                target = record
        if target is not None:
            for item in health_data:
                target[item["name"]] = item["value"]
        else:
            new = {"time": time}
            for item in health_data:
                new[item["name"]] = item["value"]
            records.append(new)
        return "success"

    def check(self, response: dict, gold: dict) -> bool:
        ri, gi = response["input"], gold["input"]
        r_user, g_user = str(ri["user_id"]).upper().strip(), gi["user_id"].upper().strip()
        r_time, g_time = normalise(ri["time"], DT), normalise(gi["time"], DT)
        _ = (ri["health_data"], gi["health_data"])  # read (KeyError if absent), never compared
        return (
            r_user == g_user
            and r_time == g_time
            and response["output"] == gold["output"]
            and response["exception"] == gold["exception"]
        )


def _span_time(value: str) -> Any:
    text = pad_year(value)
    try:
        return datetime.datetime.strptime(text, DT)
    except Exception as exc:
        return exc


def _health_query_args(user_id: str, start_time: str, end_time: str) -> tuple[Any, Any, Any]:
    user = user_id.upper().strip() or None
    return user, _span_time(start_time), _span_time(end_time)


@register
class QueryHealthData(Api):
    def run(self, user_id: str, start_time: str, end_time: str) -> Any:
        user, start, end = _health_query_args(user_id, start_time, end_time)
        if user is None:
            raise fail("The user id cannot be empty.")
        if isinstance(start, Exception) and isinstance(end, Exception):
            raise fail(str(start) + "; " + str(end))
        if isinstance(start, Exception):
            raise start
        if isinstance(end, Exception):
            raise end
        if start > end:
            raise fail("The start time cannot be later than the end time.")
        if user not in self.db:
            raise fail("The user id does not exist.")
        found = [r for r in self.db[user] if start <= datetime.datetime.strptime(r["time"], DT) <= end]
        if not found:
            raise fail("There is no health data in the given time span.")
        return found

    def check(self, response: dict, gold: dict) -> bool:
        ri, gi = response["input"], gold["input"]
        r = _health_query_args(ri["user_id"], ri["start_time"], ri["end_time"])
        g = _health_query_args(gi["user_id"], gi["start_time"], gi["end_time"])
        return r[0] == g[0] and r[1] == g[1] and r[2] == g[2] and response["output"] == gold["output"] and response["exception"] == gold["exception"]


def _symptom_key(symptom: str) -> str:
    symptom = symptom.strip().lower()
    if symptom == "":
        raise fail("The symptom cannot be empty.")
    return symptom


@register
class SymptomSearch(Api):
    def run(self, symptom: str) -> Any:
        symptom = _symptom_key(symptom)
        if symptom not in self.db:
            raise fail("The symptom does not exist.")
        return [{"name": x["name"], "description": x["description"]} for x in self.db[symptom]]

    def check(self, response: dict, gold: dict) -> bool:
        # an empty symptom raises here too: the original evaluator crashes
        return (
            _symptom_key(response["input"]["symptom"]) == _symptom_key(gold["input"]["symptom"])
            and response["output"] == gold["output"]
            and response["exception"] == gold["exception"]
        )


def _emergency_key(symptom: str) -> str:
    symptom = symptom.strip()
    if symptom == "":
        # the original builds an Exception and then calls .lower() on it
        raise AttributeError("'Exception' object has no attribute 'lower'")
    return symptom.lower()


@register
class EmergencyKnowledge(Api):
    def run(self, symptom: str) -> Any:
        symptom = _emergency_key(symptom)
        if symptom not in self.db:
            raise fail("The symptom does not exist.")
        return [{"name": x["name"], "aid": x["aid"]} for x in self.db[symptom]]

    def check(self, response: dict, gold: dict) -> bool:
        return (
            _emergency_key(response["input"]["symptom"]) == _emergency_key(gold["input"]["symptom"])
            and response["output"] == gold["output"]
            and response["exception"] == gold["exception"]
        )
