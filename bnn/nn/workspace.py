"""Tensors a binary layer writes every step, reused instead of allocated (docs/architecture.md, "Speed principles").

A fresh large CPU tensor costs a page fault per 4 KiB on first touch, more than the pass that fills it.
A :class:`Workspace` hands out the same tensor for a role step after step, but only while nothing else
holds it: no autograd graph saved it, no view of it and no caller kept it. Otherwise it hands out a
new one (and keeps that), so a reused tensor is never one whose values anyone can still read.
"""

from __future__ import annotations

import torch


def held_only_here(t: torch.Tensor) -> bool:
    """True when ``t``'s object is the only reference to its tensor and no other tensor uses its storage
    (the count of 2 is the tensor's and the temporary storage object's)."""
    return t._use_count() == 1 and torch._C._storage_Use_Count(t.untyped_storage()._cdata) == 2


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
    """Reusable tensors by role."""

    def __init__(self):
        self._tensors: dict[str, torch.Tensor] = {}

    def take(self, role: str, like: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        """A tensor of ``like``'s shape and device and ``dtype`` (default like's), contents undefined."""
        dtype = dtype or like.dtype
        t = self._tensors.pop(role, None)
        if t is None or not fits(t, like, dtype) or not held_only_here(t):
            t = torch.empty(like.shape, dtype=dtype, device=like.device)
        self._tensors[role] = t
        return t

    def clear(self) -> None:
        self._tensors.clear()
