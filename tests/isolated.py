"""Run harness functions in a child process, so a crash (exit 139) or a hang fails one test, not the suite.

`Isolated().call("harness.bfcl.decode:decode_ast", text, "java", timeout=5)`
returns an `Outcome`: how the call ended (returned, raised, crashed, timed
out), how long it took, and the child's peak RSS so far. The child is
started with `spawn` (a fresh interpreter) and restarted after a crash or a
timeout. Used by the hostile-input tests and their fuzzers (issue 22).
"""

from __future__ import annotations

import importlib
import multiprocessing
import resource
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class Outcome:
    kind: str  # "returned" | "raised" | "crashed" | "timeout"
    value: str = ""  # repr of the return value (truncated), or the exception message
    exc_type: str = ""
    exc_mro: tuple[str, ...] = ()
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    exitcode: int | None = None
    result: Any = None  # the return value itself when it is plain data (lists, dicts, str, numbers...)

    def raised(self, name: str) -> bool:
        """True when the call raised `name` or a subclass of it."""
        return self.kind == "raised" and name in self.exc_mro


def _plain(value: Any) -> bool:
    """True for JSON-like data (safe and cheap to send back)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _serve(conn: Any) -> None:
    while True:
        try:
            target, args, kwargs = conn.recv()
        except EOFError:
            return
        module, _, name = target.partition(":")
        fn = getattr(importlib.import_module(module), name)
        start = time.perf_counter()
        try:
            value = fn(*args, **kwargs)
            text = repr(value)
            reply: dict[str, Any] = {"kind": "returned", "value": text[:300],
                                     "result": value if len(text) < 1_000_000 and _plain(value) else None}
        except BaseException as exc:  # reported, whatever it is
            reply = {"kind": "raised", "value": str(exc)[:300], "exc_type": type(exc).__name__,
                     "exc_mro": tuple(c.__name__ for c in type(exc).__mro__)}
        reply["seconds"] = time.perf_counter() - start
        reply["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        conn.send(reply)


class Isolated:
    """One child interpreter serving calls in turn."""

    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child,), daemon=True)
        self.proc.start()
        child.close()

    def call(self, target: str, *args: Any, timeout: float = 30.0, **kwargs: Any) -> Outcome:
        """Run `module:function(*args, **kwargs)` in the child; a crash or timeout restarts it."""
        start = time.perf_counter()
        self.conn.send((target, args, kwargs))
        if not self.conn.poll(timeout):
            self.close()
            self._start()
            return Outcome("timeout", seconds=time.perf_counter() - start)
        try:
            return Outcome(**self.conn.recv())
        except EOFError:
            self.proc.join(5)
            exitcode = self.proc.exitcode
            self._start()
            return Outcome("crashed", seconds=time.perf_counter() - start, exitcode=exitcode)

    def close(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()
