"""Multi-layer perceptron, BinaryNet style: Linear -> BN -> Hardtanh per hidden layer (METHODS.md §5.4, §0.5)."""

from __future__ import annotations

import math

import torch
from torch import nn

from bnn.models.registry import MODELS
from bnn.nn import BinaryLinear


class MLP(nn.Module):
    def __init__(self, num_classes: int, in_shape: tuple[int, ...], hidden: list[int]):
        super().__init__()
        widths = [math.prod(in_shape), *hidden]
        blocks: list[nn.Module] = []
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            blocks += [BinaryLinear(w_in, w_out, bias=False), nn.BatchNorm1d(w_out), nn.Hardtanh()]
        self.features = nn.Sequential(*blocks)
        self.classifier = BinaryLinear(widths[-1], num_classes)
        self.output_bn = nn.BatchNorm1d(num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_bn(self.classifier(self.features(x.flatten(1))))


@MODELS.register("mlp")
def mlp(num_classes: int, in_shape: tuple[int, ...], hidden: list[int] = (256, 256)) -> MLP:
    """MLP with the given hidden widths; e.g. hidden [300, 100] is the ITR 784-300-100-10 MLP."""
    return MLP(num_classes, in_shape, list(hidden))
