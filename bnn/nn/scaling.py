"""Weight scaling of binary weights (METHODS.md §0.3).

A scaling maps the latent weight W to ``(w_to_sign, scale)``; the binary weight is then
``scale * sign(w_to_sign)``. Most scalings only choose ``scale``; Libra-PB also standardises W
before the sign.
"""

from __future__ import annotations

from typing import Callable

import torch

from bnn.registry import Registry

Scaling = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
SCALINGS: Registry[Scaling] = Registry("scaling")


def channel_dims(weight: torch.Tensor) -> tuple[int, ...]:
    """All dimensions but the output channel (dim 0)."""
    return tuple(range(1, weight.dim()))


@SCALINGS.register("none")
def no_scale(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pure ±1 weights (BinaryNet, SGDAT, SD-BNN, Iterative Training)."""
    return weight, torch.ones((), dtype=weight.dtype, device=weight.device)


@SCALINGS.register("channel_mean")
def channel_mean(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """XNOR / ReActNet: alpha_c = mean |W_c| per output channel, detached (§0.3)."""
    return weight, weight.detach().abs().mean(dim=channel_dims(weight), keepdim=True)


@SCALINGS.register("libra_pb")
def libra_pb(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """IR-Net Libra-PB (§0.3): per output channel W_hat = (W - mean) / std (unbiased std; gradients flow
    through mean and std) and the detached power-of-two scale s_c = 2^round(log2(mean |W_hat_c|))."""
    dims = channel_dims(weight)
    standard = (weight - weight.mean(dim=dims, keepdim=True)) / weight.std(dim=dims, keepdim=True)
    scale = torch.exp2(torch.round(torch.log2(standard.detach().abs().mean(dim=dims, keepdim=True))))
    return standard, scale
