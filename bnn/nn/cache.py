"""Values a binary layer derives from its parameters, kept while those parameters cannot have changed.

An entry is valid for a key that names the exact state it was computed from: each tensor's storage
address and version counter (in-place changes such as ``load_state_dict`` or ``copy_`` under
``no_grad`` bump the version), the count of optimizer steps taken in this process (fused optimizers
change parameters without bumping versions), plus whatever else the value depends on. The entry holds
the tensors' storages, so an address cannot be reused by another tensor while it is alive.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

_optimizer_steps = 0


def _count_step(optimizer, args, kwargs) -> None:
    global _optimizer_steps
    _optimizer_steps += 1


register_optimizer_step_post_hook(_count_step)


def tensor_key(tensors: Iterable[torch.Tensor]) -> tuple:
    """The optimizer step count and (address, version) of each tensor: equal only while no optimizer stepped
    and none of the tensors was replaced or changed in place."""
    return (_optimizer_steps, *((t.data_ptr(), t._version) for t in tensors))


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
