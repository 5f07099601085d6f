"""Values a binary layer derives from its parameters, kept while those parameters cannot have changed.

An entry is valid for a key that names the exact state it was computed from: each tensor's storage
address and version counter (every in-place change: an optimizer step, ``load_state_dict``,
``copy_`` under ``no_grad``, bumps the version) plus whatever else the value depends on. The entry
holds the tensors' storages, so an address cannot be reused by another tensor while it is alive.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import torch


def tensor_key(tensors: Iterable[torch.Tensor]) -> tuple:
    """(address, version) of each tensor: equal only while none of them was replaced or changed in place."""
    return tuple((t.data_ptr(), t._version) for t in tensors)


class DerivedCache:
    """Named values, each with the key of the state it was computed from."""

    def __init__(self):
        self._entries: dict[str, tuple[Hashable, torch.Tensor, list]] = {}

    def get(self, name: str, key: Hashable) -> torch.Tensor | None:
        entry = self._entries.get(name)
        return entry[1] if entry is not None and entry[0] == key else None

    def put(self, name: str, key: Hashable, value: torch.Tensor, sources: Iterable[torch.Tensor]) -> torch.Tensor:
        """Keep ``value`` detached for ``key`` and return what :meth:`get` will; ``sources`` are the tensors the
        key names."""
        kept = value.detach()
        self._entries[name] = (key, kept, [t.untyped_storage() for t in sources])
        return kept

    def drop(self, name: str) -> None:
        self._entries.pop(name, None)

    def clear(self) -> None:
        self._entries.clear()
