"""SD-BNN's self-distribution binary convolution (docs/methods.md §3.2).

WSD shifts each output channel's latent weights by ``sigmoid(alpha_c) * 0.01 * stopgrad(mean(W_c))``
before the sign; ASD shifts the input by an SE block's per-sample, per-channel output in (0, 1)
before the sign. Both are shifts of a sign's threshold, so each acts only while its sign does:
WSD while ``binary_weights``, ASD while ``binary_acts`` (as in SD-BNN's ImageNet stage 1, §3.5,
binary activations with real weights keep ASD and have no WSD). With both switches off the layer is
an ordinary conv. No weight scale (§3.2), so ``scaling`` must be ``none``.
"""

from __future__ import annotations

import torch
from torch import nn

from bnn.errors import BnnError
from bnn.nn.layers import BinaryConv2d


class SqueezeExcite(nn.Module):
    """ASD's shift generator (§3.2): GAP -> Linear(C, C//16) -> ReLU -> Linear(C//16, C) -> Sigmoid, no
    biases; at least one hidden unit; He-normal weights (§3.2). Output (B, C, 1, 1) in (0, 1). Real layers by
    design (not binarizable)."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.body = nn.Sequential(
            nn.Linear(channels, hidden, bias=False), nn.ReLU(), nn.Linear(hidden, channels, bias=False), nn.Sigmoid()
        )
        for layer in (self.body[0], self.body[2]):
            nn.init.kaiming_normal_(layer.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.mean(dim=(2, 3)))[:, :, None, None]


class SDBinaryConv2d(BinaryConv2d):
    """Binary conv with WSD (learnable ``alpha``, init 0) and ASD (``asd``, an SE block) (§3.2)."""

    WSD_RANGE = 0.01

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = False,
    ):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=bias)
        self.alpha = nn.Parameter(torch.zeros(out_channels))
        self.asd = SqueezeExcite(in_channels)

    def configure(self, scaling: str = "none", **options) -> None:
        if scaling != "none":
            raise BnnError(
                f"binary.scaling: {scaling!r} does not apply to SD-BNN convolutions, which use no "
                "weight scale (docs/methods.md §3.2); set scaling: none"
            )
        super().configure(scaling=scaling, **options)

    def latent_weight(self) -> torch.Tensor:
        """WSD: W + sigmoid(alpha_c) * 0.01 * stopgrad(mean(W_c))."""
        mean = self.weight.detach().mean(dim=(1, 2, 3), keepdim=True)
        return self.weight + torch.sigmoid(self.alpha)[:, None, None, None] * self.WSD_RANGE * mean

    def latent_input(self, x: torch.Tensor) -> torch.Tensor:
        """ASD: a + SE(a), gradient through the SE block."""
        return x + self.asd(x)
