"""A small VGG-style conv net for small images (the spine's second architecture).

conv3x3 -> [MaxPool2] -> BN -> Hardtanh per layer (the BinaryNet block order, docs/methods.md §0.5 b),
pooling after every layer but the first while the map is larger than 1x1, then a linear classifier.
"""

from __future__ import annotations

import torch
from torch import nn

from bnn.models.parts import conv_stack
from bnn.models.registry import MODELS
from bnn.nn import BinaryLinear


class ConvNet(nn.Module):
    def __init__(self, num_classes: int, in_shape: tuple[int, ...], channels: list[int]):
        super().__init__()
        c_in, size, _ = in_shape
        pools = []
        for i in range(len(channels)):
            pools.append(i > 0 and size >= 2)
            size //= 2 if pools[-1] else 1
        self.features = nn.Sequential(
            *conv_stack(c_in, channels, pools, activation_name="hardtanh", pool_before_norm=True, bias=False)
        )
        self.classifier = BinaryLinear(channels[-1] * size * size, num_classes)
        self.output_bn = nn.BatchNorm1d(num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_bn(self.classifier(self.features(x).flatten(1)))


@MODELS.register("convnet")
def convnet(num_classes: int, in_shape: tuple[int, ...], channels: list[int] = (32, 64, 128)) -> ConvNet:
    """Conv net with one 3x3 conv per entry of ``channels`` (square inputs)."""
    return ConvNet(num_classes, in_shape, list(channels))
