"""Binarizable layers: BinaryLinear and BinaryConv2d (docs/architecture.md, "Core abstraction").

Each layer carries two independent switches, ``binary_weights`` and ``binary_acts``, flipped by a
schedule between epochs. With both off the layer is an ordinary float layer, so one architecture
serves the float teacher, every binary method, and every layer-by-layer schedule.

Speed (docs/architecture.md, "Speed principles"): a binarized tensor is one autograd node (``bnn.nn.signs``),
written by the forward into tensors reused step after step (:mod:`bnn.nn.workspace`). Inside an evaluation pass
(:func:`bnn.nn.cache.frozen_weights`: eval mode, no graph) the binary weight is computed once; everywhere else
from the current parameters. A training forward keeps the real weight it signed (``last_real_weight``) for SKD-BNN's
shadow pass. Under ``torch.autocast`` binary values are produced in the autocast dtype
directly; with ``binary_dtype`` set (``amp: binary_bf16``, :mod:`bnn.train.accel`), a layer whose weights and
activations are both binary computes its product in that dtype, where its ±1 operands are exact.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from bnn.errors import BnnError
from bnn.nn.cache import EvalCache
from bnn.nn.estimators import SIGN_ZERO, Estimator, EstimatorSpec, build_estimator
from bnn.nn.scaling import SCALINGS
from bnn.nn.workspace import Workspace


class BinaryLayer(nn.Module):
    """Mixin holding the switches, estimators and scaling shared by the binary layer types."""

    binary_weights: bool = False
    binary_acts: bool = False
    weight_estimator: Estimator
    act_estimator: Estimator
    scaling: str = "none"
    binary_dtype: torch.dtype | None = None  # product dtype of a weights-and-activations binary layer
    # the scaling's w_to_sign (Libra-PB's W-hat, §0.3) that the last training forward signed, detached (SKD-BNN's
    # shadow branch, §6.2); None before one
    last_real_weight: torch.Tensor | None = None

    def configure(
        self,
        weight_estimator: EstimatorSpec = "clipped_ste",
        act_estimator: EstimatorSpec = "clipped_ste",
        scaling: str = "none",
        sign_zero: str = "plus",
    ) -> None:
        """Set how this layer binarizes (estimators and scaling), independent of when it does.

        An estimator is a name or a mapping with options, e.g. ``{name: ede, t_min: 0.1}``.
        """
        if sign_zero not in SIGN_ZERO:
            raise BnnError(
                f"binary.sign_zero: {sign_zero!r} is not one of {', '.join(SIGN_ZERO)} (docs/methods.md §0.1)"
            )
        device = self.weight.device
        self.weight_estimator = build_estimator(weight_estimator, sign_zero, "binary.weight_estimator").to(device)
        self.act_estimator = build_estimator(act_estimator, sign_zero, "binary.act_estimator").to(device)
        SCALINGS.get(scaling, "binary.scaling")
        self.scaling = scaling
        self.eval_cache = EvalCache()
        self._spaces = {"input": Workspace(), "weight": Workspace()}

    def set_binary(self, weights: bool, acts: bool) -> None:
        self.binary_weights, self.binary_acts = bool(weights), bool(acts)
        self._forget()

    def latent_weight(self) -> torch.Tensor:
        """The real weight that binary weights are computed from (a subclass may shift it)."""
        return self.weight

    def latent_input(self, x: torch.Tensor) -> torch.Tensor:
        """The real input that binary activations are computed from (a subclass may shift it)."""
        return x

    def effective_weight(self, dtype: torch.dtype | None = None) -> torch.Tensor:
        """The weight used in the forward pass: W, or scale * sign(w_to_sign) from the scaling (§0.3), in
        ``dtype`` (default the weight's). Inside :func:`bnn.nn.cache.frozen_weights`, in eval mode without
        autograd, the binary weight is computed once and shared: do not modify it in place."""
        if not self.binary_weights:
            return self.weight
        if self.training or self._builds_graph():
            return self._binary_weight(dtype)
        return self.eval_cache.get(dtype, lambda: self._binary_weight(dtype))

    def effective_input(self, x: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        """The input used in the forward pass: x, or its binary activations in ``dtype`` (default x's)."""
        return self.act_estimator(self.latent_input(x), None, dtype) if self.binary_acts else x

    def op(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """The layer's linear operation on ``x`` with ``weight`` (and the layer's bias)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        device = x.device.type
        if not torch.amp.is_autocast_available(device):  # e.g. the meta device of the plan's shape checks
            return self._product(x, None)
        if torch.is_autocast_enabled(device):
            return self._product(x, torch.get_autocast_dtype(device))
        if self.binary_dtype is not None and self.binary_weights and self.binary_acts:
            return self._product(x, self.binary_dtype, autocast=device).to(x.dtype)
        return self._product(x, None)

    def _product(self, x: torch.Tensor, dtype: torch.dtype | None, autocast: str | None = None) -> torch.Tensor:
        """``op`` of this forward's operands, in ``dtype`` when binary (the product under autocast to it on device
        ``autocast`` if given). Binary operands are written into this layer's workspaces, and their gradients may be
        overwritten: the product is their only consumer. Without a graph nothing saved them: they go back at once."""
        lent = self.binary_weights and self.training
        x_b = self.act_estimator(self.latent_input(x), None, dtype, self._spaces["input"]) if self.binary_acts else x
        if lent:
            w_b, self.last_real_weight = SCALINGS.get(self.scaling).binary(
                self.latent_weight(), self.weight_estimator, dtype, self._spaces["weight"]
            )
        else:
            w_b = self.effective_weight(dtype)
        with torch.autocast(autocast, dtype=dtype) if autocast else contextlib.nullcontext():
            out = self.op(x_b, w_b)
        if out.grad_fn is None:
            if self.binary_acts:
                self._spaces["input"].give("value", x_b)
            if lent:
                self._spaces["weight"].give("value", w_b)
        return out

    def _params(self) -> list[torch.Tensor]:
        return [p for p in self._parameters.values() if p is not None]

    def _builds_graph(self) -> bool:
        return torch.is_grad_enabled() and any(p.requires_grad for p in self._params())

    def _binary_weight(self, dtype: torch.dtype | None) -> torch.Tensor:
        return SCALINGS.get(self.scaling).binary(self.latent_weight(), self.weight_estimator, dtype)[0]

    def _forget(self) -> None:
        self.eval_cache.clear()
        self.last_real_weight = None
        for space in self._spaces.values():
            space.clear()

    def _apply(self, fn, recurse=True):
        self._forget()  # parameters move or change type: drop what was derived from the old ones
        return super()._apply(fn, recurse)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", binary_weights={self.binary_weights}, binary_acts={self.binary_acts}"


class BinaryLinear(BinaryLayer, nn.Linear):
    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        nn.Linear.__init__(self, in_features, out_features, bias=bias)
        self.configure()

    def op(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return F.linear(x, weight, self.bias)


class BinaryConv2d(BinaryLayer, nn.Conv2d):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
    ):
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=bias)
        self.configure()

    def op(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, weight, self.bias)


def binary_layers(model: nn.Module) -> list[BinaryLayer]:
    """The model's binarizable layers in forward order (models define them in that order)."""
    return [m for m in model.modules() if isinstance(m, BinaryLayer)]


def configure_binary(model: nn.Module, **options) -> None:
    for layer in binary_layers(model):
        layer.configure(**options)


def layer_states(model: nn.Module) -> list[list[bool]]:
    return [[layer.binary_weights, layer.binary_acts] for layer in binary_layers(model)]


def set_layer_states(model: nn.Module, states: list[list[bool]] | list[tuple[bool, bool]]) -> None:
    layers = binary_layers(model)
    if len(states) != len(layers):
        raise ValueError(f"{len(states)} layer states for {len(layers)} binarizable layers")
    for layer, (weights, acts) in zip(layers, states):
        layer.set_binary(weights, acts)
