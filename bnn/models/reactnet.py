"""ReActNet-A (docs/methods.md §4.1): a binary MobileNet-like net of 13 basic blocks.

Stem conv 3x3 (stride 2) -> BN; 13 blocks; global average pool -> linear classifier. Every conv and
the classifier are binarizable layers; a block's activation sign is its conv's activation estimator
(``approx_sign`` with ``sign_zero: zero`` reproduces RSign, §0.2-3), preceded by a LearnableBias, so
LearnableBias + sign is RSign. Default PyTorch init: AdamBNN's step 1 trains these weights from
scratch as plain convs (§4.1).

Deviation, harmless at the nominal sizes: the stride-2 shortcut pools with ``ceil_mode=True`` so
odd feature maps (inputs not a multiple of 32) keep the shortcut's size equal to the conv's; at 224
(and 32 with ``small_input``) every pooled map is even and nothing changes.
"""

from __future__ import annotations

import torch
from torch import nn

from bnn.errors import BnnError
from bnn.models.registry import MODELS
from bnn.nn import BinaryConv2d, BinaryLinear, LearnableBias, RPReLU

# stage_out_channel of ReActNet-A: index 0 is the stem, 1..13 the blocks (§4.1).
STAGE_OUT_CHANNELS = (32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024)


class BasicBlock(nn.Module):
    """One ReActNet-A block, C_in -> C_out with C_out in {C_in, 2 C_in} (§4.1).

    o1 = RPReLU(BN(binconv3x3(LB(x))) + shortcut(x)); out = RPReLU(cat_j(BN_j(binconv1x1_j(LB(o1))) + o1)),
    with one 1x1 conv when C_out = C_in and two when C_out = 2 C_in. Modules are registered in forward order.
    """

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        if c_out not in (c_in, 2 * c_in):
            raise ValueError(f"a ReActNet block maps C to C or 2C channels, not {c_in} to {c_out}")
        self.shift_3x3 = LearnableBias(c_in)
        self.conv_3x3 = BinaryConv2d(c_in, c_in, 3, stride=stride, padding=1, bias=False)
        self.bn_3x3 = nn.BatchNorm2d(c_in)
        self.shortcut = nn.AvgPool2d(2, ceil_mode=True) if stride == 2 else nn.Identity()
        self.act_3x3 = RPReLU(c_in)
        self.shift_1x1 = LearnableBias(c_in)
        self.convs_1x1 = nn.ModuleList(BinaryConv2d(c_in, c_in, 1, bias=False) for _ in range(c_out // c_in))
        self.bns_1x1 = nn.ModuleList(nn.BatchNorm2d(c_in) for _ in range(c_out // c_in))
        self.act_1x1 = RPReLU(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        o1 = self.act_3x3(self.bn_3x3(self.conv_3x3(self.shift_3x3(x))) + self.shortcut(x))
        v = self.shift_1x1(o1)
        halves = [bn(conv(v)) + o1 for conv, bn in zip(self.convs_1x1, self.bns_1x1)]
        return self.act_1x1(halves[0] if len(halves) == 1 else torch.cat(halves, dim=1))


def block_strides(small_input: bool) -> list[int]:
    """Stride 2 where the width changes and the output is not 64 (§4.1): blocks 2, 4, 6, 12.
    ``small_input`` keeps block 2 at stride 1 too (with a stride-1 stem: 32x32 -> 4x4 instead of 224 -> 7)."""
    strides = [
        2 if c_out != c_in and c_out != 64 else 1
        for c_in, c_out in zip(STAGE_OUT_CHANNELS[:-1], STAGE_OUT_CHANNELS[1:])
    ]
    if small_input:
        strides[strides.index(2)] = 1
    return strides


class ReActNetA(nn.Module):
    def __init__(self, num_classes: int, in_shape: tuple[int, ...], width: float, small_input: bool):
        super().__init__()
        # Widths are multiples of one base so that every block keeps C_out in {C_in, 2 C_in}.
        base = max(1, round(32 * width))
        channels = [base * (c // 32) for c in STAGE_OUT_CHANNELS]
        self.stem = BinaryConv2d(in_shape[0], channels[0], 3, stride=1 if small_input else 2, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(channels[0])
        self.blocks = nn.Sequential(
            *(
                BasicBlock(c_in, c_out, stride)
                for c_in, c_out, stride in zip(channels[:-1], channels[1:], block_strides(small_input))
            )
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = BinaryLinear(channels[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.blocks(self.stem_bn(self.stem(x)))).flatten(1))


@MODELS.register("reactnet_a")
def reactnet_a(num_classes: int, in_shape: tuple[int, ...], width: float = 1.0, small_input: bool = False) -> ReActNetA:
    """ReActNet-A (§4.1); ``width`` multiplies every channel count, ``small_input`` suits 32x32 images."""
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not width > 0:
        raise BnnError(f"model.width: {width!r} must be a number > 0 (1.0 is ReActNet-A)")
    if len(in_shape) != 3:
        raise BnnError(f"model.arch: reactnet_a needs image inputs (C, H, W), not shape {tuple(in_shape)}")
    return ReActNetA(num_classes, in_shape, float(width), bool(small_input))
