"""Weight scaling of binary weights (METHODS.md §0.3)."""

from __future__ import annotations

import torch

from bnn.registry import Registry

SCALINGS: Registry = Registry("scaling")


@SCALINGS.register("none")
def no_scale(weight: torch.Tensor) -> torch.Tensor:
    """Pure ±1 weights (BinaryNet, SGDAT, SD-BNN, Iterative Training)."""
    return torch.ones((), dtype=weight.dtype, device=weight.device)


@SCALINGS.register("channel_mean")
def channel_mean(weight: torch.Tensor) -> torch.Tensor:
    """XNOR / ReActNet: alpha_c = mean |W_c| per output channel, detached (§0.3)."""
    dims = tuple(range(1, weight.dim()))
    return weight.detach().abs().mean(dim=dims, keepdim=True)
