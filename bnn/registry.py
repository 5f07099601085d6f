"""Name -> constructor registries (models, estimators, losses, optimizers), like timm's model registry."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Generic, TypeVar

from bnn.errors import BnnError

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from names to objects with a one-line error (and a close-match hint) for unknown names."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._entries[name] = obj
            return obj

        return add

    def get(self, name: str, key: str | None = None) -> T:
        """Return the entry called ``name``; ``key`` is the config key path quoted in the error."""
        if name not in self._entries:
            raise BnnError(self.unknown_message(name, key))
        return self._entries[name]

    def unknown_message(self, name: object, key: str | None = None) -> str:
        where = f"{key}: " if key else ""
        close = difflib.get_close_matches(str(name), self.names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{where}unknown {self.kind} {name!r}{hint}; known: {', '.join(self.names())}"

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries
