"""Account APIs (database Account, shared with the token checker)."""

from __future__ import annotations

import random
import string
from typing import Any

from harness.apibank.original.apis.base import Api, fail, register


@register
class CheckToken(Api):
    has_api_name = False

    def run(self, token: str) -> Any:
        return {"username": self.env.check_token(token)}


@register
class GetUserToken(Api):
    def run(self, username: str, password: str) -> Any:
        if username not in self.db:
            raise fail("The username does not exist.")
        if self.db[username]["password"] != password:
            raise fail("The password is incorrect.")
        return {"token": self.db[username]["token"]}


@register
class DeleteAccount(Api):
    has_api_name = False

    def run(self, token: str) -> Any:
        username = self.env.check_token(token)
        if username in self.db:
            del self.db[username]
            return {"status": "success"}
        raise fail("No such user.")


@register
class ModifyPassword(Api):
    def run(self, token: str, old_password: str, new_password: str) -> Any:
        username = self.env.check_token(token)
        if self.db[username]["password"] != old_password:
            raise fail("The old password is incorrect.")
        self.db[username]["password"] = new_password
        return {"status": "success"}


@register
class RegisterUser(Api):
    has_api_name = False

    def run(self, username: str, password: str, email: str) -> Any:
        if username in self.db:
            raise fail("The username already exists.")
        token = "".join(random.choices(string.ascii_letters + string.digits, k=18)).lower()
        self.db[username] = {"password": password, "token": token, "email": email}
        return {"token": token}

    def check(self, response: dict, gold: dict) -> bool:
        if gold["output"] is None and response["output"] is not None:
            return False
        return response["input"] == gold["input"] and response["exception"] == gold["exception"]

    def adopt(self, recorded: dict, response: dict) -> None:
        user = response["input"]["username"]
        rec = recorded.get("output")
        if response["output"] is not None and isinstance(rec, dict) and "token" in rec and user in self.db:
            self.db[user]["token"] = rec["token"]


@register
class ForgotPassword(Api):
    """Two-step reset; the code lives on the instance, so only a replayed first step enables the second."""

    has_api_name = False
    var_kwargs = True

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self.code: Any = None
        self.user: Any = None

    def run(self, status: str, **kw: Any) -> Any:
        if status == "Forgot Password":
            if "username" not in kw or "email" not in kw:
                raise fail("The username and email are required for the first call.")
            if kw["username"] not in self.db:
                raise fail("The username does not exist.")
            if self.db[kw["username"]]["email"] != kw["email"]:
                raise fail("The email is incorrect.")
            self.code, self.user = 970420, kw["username"]
            return self.code
        if status == "Verification Code":
            if not self.code:
                raise fail("You need to call the API with status 'Forgot Password' at first.")
            if "new_password" not in kw or "verification_code" not in kw:
                raise fail("The new password and verification code are required for the second call.")
            if self.code == kw["verification_code"]:
                self.db[self.user]["password"] = kw["new_password"]
                return "success"
            raise fail("The verification code is incorrect.")
        raise fail("The status is only 'Forgot Password' or 'Verification Code'.")
