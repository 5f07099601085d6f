"""The eval cache: binary weights computed once per evaluation pass (docs/architecture.md, "Speed principles").

A layer keeps what it derives from its parameters only inside :func:`frozen_weights`, a scope whose opener promises
that no parameter or buffer of the model changes in it: the evaluation loop opens one around each pass over a split
(:func:`bnn.evaluation.scoring.score`). On entry and exit the kept values are dropped. Outside a scope every forward
derives them from the current parameters, so however a parameter changes (``load_state_dict``, an in-place edit, any
optimizer) no forward sees a value derived from an earlier one.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager

import torch
from torch import nn


class EvalCache:
    """A module's derived values, kept while a :func:`frozen_weights` scope over it is open."""

    def __init__(self):
        self._values: dict[Hashable, torch.Tensor] | None = None  # None: no scope open

    def get(self, key: Hashable, compute: Callable[[], torch.Tensor]) -> torch.Tensor:
        """``compute()``, computed once per ``key`` inside a scope and at every call outside one."""
        if self._values is None:
            return compute()
        if key not in self._values:
            self._values[key] = compute()
        return self._values[key]

    def open(self) -> bool:
        """Start keeping values; False when a scope is open already."""
        if self._values is not None:
            return False
        self._values = {}
        return True

    def close(self) -> None:
        self._values = None

    def clear(self) -> None:
        if self._values is not None:
            self._values.clear()


@contextmanager
def frozen_weights(model: nn.Module) -> Iterator[None]:
    """Inside, each module of ``model`` with an ``eval_cache`` computes its derived values once; the caller changes
    none of the model's parameters or buffers meanwhile. An already open scope over a module stays its own."""
    caches = [m.eval_cache for m in model.modules() if isinstance(getattr(m, "eval_cache", None), EvalCache)]
    opened = [cache for cache in caches if cache.open()]
    try:
        yield
    finally:
        for cache in opened:
            cache.close()
