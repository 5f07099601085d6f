"""Residual blocks, shortcuts and stem / blocks / head of the binary ResNets (docs/methods.md §0.5 c-g, §5.4).

Modules are registered in the order they run (conv1, conv2, then the shortcut, which the forward
passes call last), so ``binary_layers(model)`` lists the binarizable layers in forward order.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from bnn.nn import BinaryConv2d, BinaryLinear

SHORTCUTS = ("A", "conv", "binary_conv", "avgpool_conv")


class OptionA(nn.Module):
    """Parameter-free shortcut (He et al.'s option A, §0.5 e): subsample the map by the stride and pad
    the new channels with zeros, half on each side."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.stride, self.pad = stride, (out_channels - in_channels) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, self.pad, self.pad))


def shortcut(kind: str, in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """Identity when the shape is kept; otherwise

    * ``A``: option A (§0.5 e, §5.4);
    * ``conv``: float 1x1 conv (stride) + BN, kept real by the references (§0.5 f);
    * ``binary_conv``: binarizable 1x1 conv (stride) + BN (SGDAT's resnet_binary, §0.5 c);
    * ``avgpool_conv``: AvgPool2d(2) + float 1x1 conv + BN (Bi-Real / SD-BNN ImageNet, §0.5 g).
    """
    if kind not in SHORTCUTS:
        raise ValueError(f"shortcut {kind!r} is not one of {SHORTCUTS}")
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    if kind == "A":
        return OptionA(in_channels, out_channels, stride)
    if kind == "avgpool_conv":
        return nn.Sequential(
            nn.AvgPool2d(2, stride), nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)
        )
    conv = BinaryConv2d if kind == "binary_conv" else nn.Conv2d
    return nn.Sequential(conv(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels))


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> BinaryConv2d:
    return BinaryConv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    """Standard block, one shortcut per two binarizable 3x3 convs (§0.5 f, §5.4):
    ``act(BN2(conv2(act(BN1(conv1(x))))) + shortcut(x))``; ``act`` is stateless (ReLU or Hardtanh)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, shortcut_kind: str, act: nn.Module):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.act = act
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = shortcut(shortcut_kind, in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.act(self.bn1(self.conv1(x)))))
        return self.act(out + self.shortcut(x))


class SingleConvBlock(nn.Module):
    """Bi-Real block, one shortcut per binarizable 3x3 conv (§0.5 e, g): ``act(BN(conv(x)) + shortcut(x))``."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, shortcut_kind: str, act: nn.Module):
        super().__init__()
        self.conv = conv3x3(in_channels, out_channels, stride)
        self.bn = nn.BatchNorm2d(out_channels)
        self.shortcut = shortcut(shortcut_kind, in_channels, out_channels, stride)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)) + self.shortcut(x))


class PostAddBlock(nn.Module):
    """BinaryNet.pytorch CIFAR block of SGDAT's resnet_binary (§0.5 c): ``conv2(Hardtanh(BN1(conv1(x))))
    + shortcut(x)``, then BN2 -> Hardtanh after the sum unless ``post_norm`` is off (last block)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, post_norm: bool):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.act = nn.Hardtanh()
        self.conv2 = conv3x3(out_channels, out_channels)
        self.shortcut = shortcut("binary_conv", in_channels, out_channels, stride)
        self.post = nn.Sequential(nn.BatchNorm2d(out_channels), nn.Hardtanh()) if post_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.conv2(self.act(self.bn1(self.conv1(x)))) + self.shortcut(x))


def block_plan(
    in_channels: int, widths: tuple[int, ...], strides: tuple[int, ...], blocks_per_stage: int
) -> list[tuple[int, int, int]]:
    """(in, out, stride) of every block; a stage's first block carries its stride and width change."""
    plan = []
    for width, stride in zip(widths, strides):
        for i in range(blocks_per_stage):
            plan.append((in_channels, width, stride if i == 0 else 1))
            in_channels = width
    return plan


def network(stem: list[nn.Module], blocks: list[nn.Module], head: list[nn.Module]) -> nn.Sequential:
    """stem -> blocks -> head as one Sequential (registration order = forward order)."""
    return nn.Sequential(
        OrderedDict(stem=nn.Sequential(*stem), blocks=nn.Sequential(*blocks), head=nn.Sequential(*head))
    )


def pooled_head(features: int, num_classes: int, norm: bool) -> list[nn.Module]:
    """Global average pool -> flatten -> [BN1d] -> binarizable classifier (with bias)."""
    return [
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        *([nn.BatchNorm1d(features)] if norm else []),
        BinaryLinear(features, num_classes),
    ]
