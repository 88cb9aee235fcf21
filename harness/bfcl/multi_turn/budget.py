"""Wall-clock budget per environment call and per episode: the backstop behind `limits`.

`limits` refuses every known way a literal call can explode. This catches the
unknown ones, so that no model text can stall an evaluation or a reward:

- Inside `alarm_scope()` in the main thread (the executor opens one per batch
  of calls, the checker one per check) each call runs under a one-shot
  SIGALRM timer whose handler raises `OverBudget`, a BaseException, so that
  the environments' own `except Exception` clauses cannot swallow it. A
  signal handler only runs between bytecodes, so a call stuck inside one C
  operation (big-integer arithmetic) is interrupted only when that operation
  returns; that is why `limits` comes first.
- Elsewhere (a worker thread; another SIGALRM handler or pending timer, both
  left alone) the call runs to completion and is judged afterwards.

Either way a call over its budget is an execution error for the model, as a
crashing call is, and each environment keeps a running total: once an
episode has spent its budget, its later calls are not run at all. Normal
calls take microseconds, so the budgets (seconds) never decide a real verdict.
The handler is installed per scope rather than per call because
`signal.signal` costs about 5 us, more than most environment calls.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

CALL_BUDGET_S = 2.0
EPISODE_BUDGET_S = 30.0
_HAS_ITIMER = hasattr(signal, "setitimer")


class OverBudget(BaseException):  # noqa: N818 - a BaseException on purpose (see module docstring)
    """A call ran past its wall-clock budget, or its episode had no time left."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise OverBudget("call interrupted")


class _Scope:
    installed = False  # our handler is in place (main thread only)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class alarm_scope:  # noqa: N801 - used as a context manager, like contextlib's lower-case ones
    """Install the SIGALRM handler for a batch of calls when that is safe; restore the previous one on exit.

    Nested scopes do nothing. Safe means: the main thread, a handler installed
    from Python (not from C), and no timer of someone else's pending.
    """

    def __init__(self) -> None:
        self.previous: Any = None

    def __enter__(self) -> None:
        if _Scope.installed or not _HAS_ITIMER or not _in_main_thread():
            return
        current = signal.getsignal(signal.SIGALRM)
        if current is None or signal.getitimer(signal.ITIMER_REAL)[0] != 0.0:
            return
        self.previous = signal.signal(signal.SIGALRM, _on_alarm)
        _Scope.installed = True

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            _Scope.installed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
            self.previous = None


class Budget:
    """The time one environment may spend on calls: `per_call_s` each, `per_episode_s` in all."""

    def __init__(self, per_call_s: float = CALL_BUDGET_S, per_episode_s: float = EPISODE_BUDGET_S) -> None:
        self.per_call_s = per_call_s
        self.per_episode_s = per_episode_s
        self.spent_s = 0.0

    def run(self, fn: Callable[[], Any]) -> Any:
        """fn()'s value, or `OverBudget` when it ran past the budget (or none was left)."""
        left = self.per_episode_s - self.spent_s
        if left <= 0:
            raise OverBudget(f"episode time budget of {self.per_episode_s:g} s used up; call not run")
        limit = min(self.per_call_s, left)
        message = f"call ran past its time budget of {limit:g} s"
        start = time.perf_counter()
        elapsed = 0.0
        try:
            value = _with_alarm(fn, limit) if _Scope.installed and _in_main_thread() else fn()
        except OverBudget:
            raise OverBudget(message) from None
        finally:
            elapsed = time.perf_counter() - start
            self.spent_s += elapsed
        if elapsed > limit:  # not interruptible (no alarm here, or stuck in C): judged afterwards
            raise OverBudget(message)
        return value


def _with_alarm(fn: Callable[[], Any], limit: float) -> Any:
    signal.setitimer(signal.ITIMER_REAL, max(limit, 0.001))  # 0 would disarm the timer instead
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
