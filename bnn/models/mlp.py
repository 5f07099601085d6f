"""Multi-layer perceptrons: Linear -> BN1d -> activation per hidden layer, then Linear -> BN1d.

Covers the Iterative Training MLPs (docs/methods.md §5.4: ``hidden`` [300, 100] or, as in its code,
[784, 784]; ``activation: relu``, ``bias: true``) and BinaryNet's 3-MLP (§6.7, ``binarynet_mlp``).
The references end with LogSoftmax + NLL; the models return logits, and the cross-entropy loss
applies the log-softmax (the same loss and gradients).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from bnn.models.parts import activation
from bnn.models.registry import MODELS
from bnn.nn import BinaryLinear

OUTPUT_NORMS = ("affine", "fixed", "none")


class MLP(nn.Module):
    """Hidden blocks Linear -> [Dropout] -> BN1d -> activation, then the classifier and its output BN.

    ``dropout`` is applied before the BN of the last hidden block (BinaryNet's MLP, §6.7);
    ``output_norm``: BN1d after the classifier with learnable affine parameters (``affine``, ITR §5.4),
    without (``fixed``, BinaryNet §0.5 a-b), or no BN (``none``); ``hidden_norm: False`` drops the hidden BNs.
    """

    def __init__(
        self,
        num_classes: int,
        in_shape: tuple[int, ...],
        hidden: list[int],
        activation_name: str = "hardtanh",
        bias: bool = False,
        dropout: float = 0.0,
        output_norm: str = "affine",
        hidden_norm: bool = True,
    ):
        super().__init__()
        if output_norm not in OUTPUT_NORMS:
            raise ValueError(f"output_norm {output_norm!r} is not one of {OUTPUT_NORMS}")
        widths = [math.prod(in_shape), *hidden]
        blocks: list[nn.Module] = []
        for i, (w_in, w_out) in enumerate(zip(widths[:-1], widths[1:])):
            blocks.append(BinaryLinear(w_in, w_out, bias=bias))
            if dropout and i == len(hidden) - 1:
                blocks.append(nn.Dropout(dropout))
            blocks += [nn.BatchNorm1d(w_out)] if hidden_norm else []
            blocks.append(activation(activation_name))
        self.features = nn.Sequential(*blocks)
        self.classifier = BinaryLinear(widths[-1], num_classes)
        self.output_bn = (
            nn.Identity() if output_norm == "none" else nn.BatchNorm1d(num_classes, affine=output_norm == "affine")
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_bn(self.classifier(self.features(x.flatten(1))))


@MODELS.register("mlp")
def mlp(
    num_classes: int,
    in_shape: tuple[int, ...],
    hidden: list[int] = (256, 256),
    activation: str = "hardtanh",
    bias: bool = False,
    batch_norm: bool = True,
) -> MLP:
    """MLP with the given hidden widths (§5.4); ``bias`` is that of the hidden Linear layers. ``batch_norm:
    false`` leaves out every BN (a model whose multi-process training on CPU equals one process, bnn.train.distributed).

    ITR 784-300-100-10: ``hidden: [300, 100], activation: relu, bias: true``; ITR "784": ``hidden: [784, 784]``.
    """
    return MLP(
        num_classes,
        in_shape,
        list(hidden),
        activation,
        bias,
        output_norm="affine" if batch_norm else "none",
        hidden_norm=batch_norm,
    )


@MODELS.register("binarynet_mlp")
def binarynet_mlp(num_classes: int, in_shape: tuple[int, ...], inflation: int = 3) -> MLP:
    """BinaryNet's 3-MLP (§6.7): 784 -> 3 x (2048·inflation) with BN + Hardtanh, dropout 0.5 before the
    third BN, then a float Linear (no output BN); the hidden Linear layers have biases."""
    return MLP(num_classes, in_shape, [2048 * inflation] * 3, "hardtanh", bias=True, dropout=0.5, output_norm="none")
