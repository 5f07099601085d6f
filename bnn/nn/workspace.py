"""Tensors a binary layer writes every step, reused instead of allocated (docs/architecture.md, "Speed principles").

A fresh large CPU tensor costs a page fault per 4 KiB on first touch, more than the pass that fills it. A
:class:`Workspace` lends a tensor for a role and lends it again only once it was given back, by the code that knows
its last reader is done: the backward of the autograd node that wrote it (the product that read it has run its own
backward by then), the binary layer when its forward built no graph, or a backward's scratch at its end. A second
forward before the first one's backward gets new tensors, as does a training forward's binary input that needs no
gradient (no node of ours runs a backward for it: a network's first layer). A graph backwarded with
``retain_graph=True`` and again after a further forward fails autograd's in-place check (every write into a lent
tensor is one) rather than reading overwritten values.
"""

from __future__ import annotations

import torch


def fits(t: torch.Tensor, like: torch.Tensor, dtype: torch.dtype) -> bool:
    """``t`` has ``like``'s shape and device, ``dtype``, and is an inference tensor exactly when inference mode is on
    (one made under ``torch.inference_mode`` cannot be written outside it)."""
    return (
        t.shape == like.shape
        and t.dtype == dtype
        and t.device == like.device
        and t.is_inference() == torch.is_inference_mode_enabled()
    )


class Workspace:
    """Tensors by role, each the borrower's until given back."""

    def __init__(self):
        self._free: dict[str, list[torch.Tensor]] = {}

    def take(self, role: str, like: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        """A tensor of ``like``'s shape and device and ``dtype`` (default like's), contents undefined: the last one
        given back for ``role`` if it fits, else a new one."""
        dtype = dtype or like.dtype
        free = self._free.get(role)
        if free:
            t = free.pop()
            if fits(t, like, dtype):
                return t
        return torch.empty(like.shape, dtype=dtype, device=like.device)

    def give(self, role: str, t: torch.Tensor) -> None:
        """``t`` may be lent for ``role`` again: nothing reads it any more."""
        self._free.setdefault(role, []).append(t)

    def clear(self) -> None:
        self._free.clear()
