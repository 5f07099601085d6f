"""ReActNet's learnable shift blocks (docs/methods.md §4.1): LearnableBias, RSign, RPReLU.

They act on dimension 1 (channels) of a (B, C, ...) tensor, so they serve conv maps and vectors.
"""

from __future__ import annotations

import torch
from torch import nn

from bnn.nn.estimators import ApproxSign


class LearnableBias(nn.Module):
    """x + b_c: a learnable per-channel additive shift, initialised to 0 (§4.1 ``LB``)."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bias.view(1, -1, *([1] * (x.dim() - 2)))


class RSign(nn.Module):
    """ReActNet's RSign (§4.1): sign(x + b_c), a learnable per-channel threshold, with the ApproxSign
    backward (§0.2-3). ``zero`` is the sign(0) convention (§0.1); ReActNet uses sign0 ('zero')."""

    def __init__(self, channels: int, zero: str = "zero"):
        super().__init__()
        self.shift = LearnableBias(channels)
        self.estimator = ApproxSign(zero)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.estimator(self.shift(x))


class RPReLU(nn.Module):
    """ReActNet's RPReLU (§4.1): shift, PReLU(C) (slope init 0.25), shift."""

    def __init__(self, channels: int):
        super().__init__()
        self.shift_in = LearnableBias(channels)
        self.prelu = nn.PReLU(channels)
        self.shift_out = LearnableBias(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shift_out(self.prelu(self.shift_in(x)))
