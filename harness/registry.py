"""One registry mechanism for everything the harness looks up by name: tasks, backends, scorers, CLI commands.

Entries are either objects registered at import time (`register`), or
`"module:attribute"` references imported only when first asked for
(`register_lazy`), so `rest --help` never imports torch and an optional
backend (vLLM, llama.cpp) costs nothing until chosen. A registry may also
name `modules` whose import registers entries (a benchmark's `tasks` module),
and `prefixes` that build entries on demand (`toolrl:<path>`).

An unknown name, or a lazy entry whose own module is missing from this
install, is a `UserError` (one line), never a traceback.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from harness.types import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names to entries of one kind (`kind` names it in errors: "task", "backend"...)."""

    def __init__(self, kind: str, modules: Iterable[str] = ()) -> None:
        self.kind = kind
        self._modules = list(modules)
        self._loaded = False
        self._entries: dict[str, T] = {}
        self._lazy: dict[str, str] = {}
        self._prefixes: dict[str, Callable[[str], T]] = {}

    # -- filling
    def register(self, name: str, entry: T) -> T:
        self._entries[name] = entry
        return entry

    def register_lazy(self, name: str, ref: str) -> None:
        """`ref` is "package.module:attribute", imported on first `get(name)`."""
        self._lazy[name] = ref

    def register_prefix(self, prefix: str, build: Callable[[str], T]) -> None:
        """Names `prefix<anything>` not registered otherwise are built by `build(name)` when asked for."""
        self._prefixes[prefix] = build

    def unregister(self, name: str) -> None:
        """Forget `name` (tests register stand-in entries and remove them after)."""
        self._entries.pop(name, None)
        self._lazy.pop(name, None)

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for module in self._modules:
                importlib.import_module(module)

    # -- reading
    def names(self) -> list[str]:
        self._load()
        return sorted({*self._entries, *self._lazy})

    def __contains__(self, name: str) -> bool:
        self._load()
        return name in self._entries or name in self._lazy or self._prefix_for(name) is not None

    def _prefix_for(self, name: str) -> Callable[[str], T] | None:
        for prefix, build in self._prefixes.items():
            if name.startswith(prefix) and len(name) > len(prefix):
                return build
        return None

    def get(self, name: str) -> T:
        self._load()
        if name in self._entries:
            return self._entries[name]
        if name in self._lazy:
            return self.register(name, _import(self._lazy[name], self.kind, name))
        build = self._prefix_for(name)
        if build is not None:
            return self.register(name, build(name))
        known = ", ".join(self.names()[:40])
        raise UserError(f"unknown {self.kind} {name!r}; known: {known}")


def _import(ref: str, kind: str, name: str):
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise UserError(f"{kind} {name!r} is not available in this install (no module {exc.name})") from None
        raise UserError(f"{kind} {name!r} needs {exc.name}, which is not installed") from None
    return getattr(module, attr)
