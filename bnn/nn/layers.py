"""Binarizable layers: BinaryLinear and BinaryConv2d (DESIGN.md, core abstraction).

Each layer carries two independent switches, ``binary_weights`` and ``binary_acts``, flipped by a
schedule between epochs. With both off the layer is an ordinary float layer, so one architecture
serves the float teacher, every binary method, and every layer-by-layer schedule.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bnn.errors import BnnError
from bnn.nn.estimators import SIGN_ZERO, Estimator, EstimatorSpec, build_estimator
from bnn.nn.scaling import SCALINGS


class BinaryLayer(nn.Module):
    """Mixin holding the switches, estimators and scaling shared by the binary layer types."""

    binary_weights: bool = False
    binary_acts: bool = False
    weight_estimator: Estimator
    act_estimator: Estimator
    scaling: str = "none"

    def configure(self, weight_estimator: EstimatorSpec = "clipped_ste", act_estimator: EstimatorSpec = "clipped_ste",
                  scaling: str = "none", sign_zero: str = "plus") -> None:
        """Set how this layer binarizes (estimators and scaling), independent of when it does.

        An estimator is a name or a mapping with options, e.g. ``{name: ede, t_min: 0.1}``.
        """
        if sign_zero not in SIGN_ZERO:
            raise BnnError(f"binary.sign_zero: {sign_zero!r} is not one of {', '.join(SIGN_ZERO)} (METHODS.md §0.1)")
        self.weight_estimator = build_estimator(weight_estimator, sign_zero, "binary.weight_estimator")
        self.act_estimator = build_estimator(act_estimator, sign_zero, "binary.act_estimator")
        SCALINGS.get(scaling, "binary.scaling")
        self.scaling = scaling

    def set_binary(self, weights: bool, acts: bool) -> None:
        self.binary_weights, self.binary_acts = bool(weights), bool(acts)

    def set_progress(self, epoch: int, epochs: int) -> None:
        """Tell both estimators the training progress (EDE's per-epoch schedule, METHODS.md §0.2-4)."""
        self.weight_estimator.set_progress(epoch, epochs)
        self.act_estimator.set_progress(epoch, epochs)

    def latent_weight(self) -> torch.Tensor:
        """The real weight that binary weights are computed from (a subclass may shift it)."""
        return self.weight

    def latent_input(self, x: torch.Tensor) -> torch.Tensor:
        """The real input that binary activations are computed from (a subclass may shift it)."""
        return x

    def effective_weight(self) -> torch.Tensor:
        """The weight used in the forward pass: W, or scale * sign(w_to_sign) from the scaling (§0.3)."""
        if not self.binary_weights:
            return self.weight
        to_sign, scale = SCALINGS.get(self.scaling)(self.latent_weight())
        return scale * self.weight_estimator(to_sign, self.training)

    def effective_input(self, x: torch.Tensor) -> torch.Tensor:
        return self.act_estimator(self.latent_input(x), self.training) if self.binary_acts else x

    def real_weight(self) -> torch.Tensor:
        """The real weight whose sign the binary weight is: the scaling's ``w_to_sign`` without the scale
        (Libra-PB's standardised W-hat, §0.3; SKD-BNN's shadow branch, §6.2), or W when weights are real."""
        return SCALINGS.get(self.scaling)(self.latent_weight())[0] if self.binary_weights else self.weight

    def op(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """The layer's linear operation on ``x`` with ``weight`` (and the layer's bias)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(self.effective_input(x), self.effective_weight())

    def extra_repr(self) -> str:
        return super().extra_repr() + f", binary_weights={self.binary_weights}, binary_acts={self.binary_acts}"


class BinaryLinear(BinaryLayer, nn.Linear):
    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        nn.Linear.__init__(self, in_features, out_features, bias=bias)
        self.configure()

    def op(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return F.linear(x, weight, self.bias)


class BinaryConv2d(BinaryLayer, nn.Conv2d):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = True):
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, stride=stride,
                           padding=padding, bias=bias)
        self.configure()

    def op(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, weight, self.bias)


def binary_layers(model: nn.Module) -> list[BinaryLayer]:
    """The model's binarizable layers in forward order (models define them in that order)."""
    return [m for m in model.modules() if isinstance(m, BinaryLayer)]


def configure_binary(model: nn.Module, **options) -> None:
    for layer in binary_layers(model):
        layer.configure(**options)


def set_progress(model: nn.Module, epoch: int, epochs: int) -> None:
    """Call at the start of each epoch: updates scheduled estimators (EDE's k, t; METHODS.md §0.2-4)."""
    for layer in binary_layers(model):
        layer.set_progress(epoch, epochs)


def layer_states(model: nn.Module) -> list[list[bool]]:
    return [[layer.binary_weights, layer.binary_acts] for layer in binary_layers(model)]


def set_layer_states(model: nn.Module, states: list[list[bool]] | list[tuple[bool, bool]]) -> None:
    layers = binary_layers(model)
    if len(states) != len(layers):
        raise ValueError(f"{len(states)} layer states for {len(layers)} binarizable layers")
    for layer, (weights, acts) in zip(layers, states):
        layer.set_binary(weights, acts)
