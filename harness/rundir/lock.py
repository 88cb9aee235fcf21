"""One writer per run directory: an exclusive `flock` that names its holder.

Two runs appending to the same sample files would store every id twice, so
`rest eval` locks the run directory before any model loads (harness/runner.py).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time
from pathlib import Path

from harness.types import UserError

LOCK_NAME = ".lock"


class RunLock:
    """An exclusive lock on a run directory: `fcntl.flock` on ROOT/.lock, which names its holder.

    The operating system drops a flock when its holder exits, however it exits (kill -9 included),
    so a lock is never left stale; the file itself stays (deleting it would let two processes lock
    two different files). The holder writes its pid, host, start time and command into the file,
    and a refused run names them.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        import fcntl

        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UserError(f"cannot use run directory {self.root}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise UserError(f"run directory {self.root} is in use by {self.holder()}; wait for that run to "
                                "finish, or choose another --run-name") from None
            print(f"warning: cannot lock {self.path} ({exc.strerror}); make sure no other run writes "
                  f"{self.root}", file=sys.stderr)  # a filesystem without locks: run as before
            return self
        self._fd = fd
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "command": " ".join(sys.argv)[:500]}
        try:
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(info).encode())
        except OSError:
            pass  # the lock holds; only the holder's name is missing
        return self

    def holder(self) -> str:
        """Who holds the lock, as its file says: "pid 123 on host h (started ..., `rest eval ...`)"."""
        try:
            info = json.loads(self.path.read_text(encoding="utf-8"))
            return (f"pid {info['pid']} on host {info['host']} (started {info['started_at']}: "
                    f"{info.get('command') or '?'})")
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire() if self._fd is None else self

    def __exit__(self, *exc: object) -> None:
        self.release()
