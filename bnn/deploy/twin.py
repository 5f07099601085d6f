"""The deploy twin: a trained model rewritten in plain torch ops, each binary layer's arithmetic explicit.

Every binarizable layer of a copy of the model is replaced by a :class:`DeployLayer` holding constants
only; every other module stays as it is (BN, shortcuts, RPReLU, LearnableBias, pools, real layers).
A W1/A1 layer computes, with S = sign of its weights, scale_c its per-channel scale (docs/methods.md §0.3)
and z its latent input (SD-BNN's ASD included, §3.2):

    x01 = [z >= 0]                                   (BinaryInput: the binary kernel's input bit)
    out = 2·scale_c·conv(x01, S) + (b_c - scale_c·conv(1, S))

which equals ``scale_c·conv(sign(z), S) + b_c`` because sign(z) = 2·x01 - 1 (§0.1) and conv is linear;
conv(1, S) is the layer's response to a ones input, zero padding included (its borders differ from its
interior). ``[z >= 0]`` maps sign(0) to +1: exact for ``sign_zero: plus``. With ``sign_zero: zero``,
sign0(z) = [z >= 0] + [z > 0] - 1 (an exact 0 gives 0, anything else ±1), so the layer runs two binary
convolutions of one weight tensor, one on each bit, and

    out = scale_c·(conv([z >= 0], S) + conv([z > 0], S)) + (b_c - scale_c·conv(1, S))

exact for every input, exact zeros included. A binary Linear runs as a 1x1 convolution on (B, F, 1, 1).

W1/A32 layers are float convs with the constant ±scale_c weights (no kernel gain); W32/A1 layers apply
the layer's own sign, then the real conv; W32/A32 layers are the real op.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from bnn.deploy.mapping import LayerRecord, trace_layers
from bnn.errors import BnnError
from bnn.nn import BinaryLayer, sign
from bnn.nn.binarized import split_weight


class BinaryInput(nn.Module):
    """The binary kernel's input bit as floats: ``[z >= 0]`` (``strict=False``) or ``[z > 0]`` (``strict``),
    ONNX GreaterOrEqual / Greater + Cast, which the OpenVINO graph turns into FakeQuantize(levels=2, output
    {0, 1}) (bnn.deploy.openvino_graph)."""

    def __init__(self, strict: bool = False):
        super().__init__()
        self.strict = strict

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (z > 0 if self.strict else z >= 0).to(z.dtype)


def ones_response(signs: torch.Tensor, in_shape: tuple[int, ...], conv_args: dict) -> torch.Tensor:
    """conv(1, S): (1, C_out, H', W'), reduced to (1, C_out, 1, 1) where it is the same at every position."""
    response = F.conv2d(torch.ones(1, *in_shape, dtype=signs.dtype), signs, None, **conv_args)
    flat = response.flatten(2)
    return response[:, :, :1, :1].clone() if bool((flat == flat[:, :, :1]).all()) else response


class DeployLayer(nn.Module):
    """The deployed form of one binarizable layer (see the module docstring), constants only."""

    def __init__(self, layer: BinaryLayer, record: LayerRecord):
        super().__init__()
        self.kind, self.op, self.zero = record.kind, record.op, record.sign_zero
        self.conv_args = (
            {"stride": layer.stride, "padding": layer.padding, "dilation": layer.dilation, "groups": layer.groups}
            if record.op == "conv"
            else {}
        )
        # the latent input differs from x only where a subclass shifts it (SD-BNN's ASD) and acts are binary
        shifts = type(layer).latent_input is not BinaryLayer.latent_input
        self.source = layer if layer.binary_acts and shifts else None
        with torch.no_grad():
            bias = layer.bias.detach().clone() if layer.bias is not None else None
            if record.kind == "W1/A1":
                self.binary_kernel(layer, record, bias)
            else:
                self.register_buffer("weight", layer.effective_weight().detach().clone())
                self.register_buffer("bias", bias)

    def binary_kernel(self, layer: BinaryLayer, record: LayerRecord, bias: torch.Tensor | None) -> None:
        split = split_weight(layer)
        if split is None:
            zeros = int((layer.effective_weight() == 0).sum())
            why = (
                f"{zeros} are 0 (sign_zero: zero of a latent weight of exactly 0), a value a binary kernel lacks"
                if zeros
                else "they are not ±scale per output channel (docs/methods.md §0.3)"
            )
            raise BnnError(
                f"deploy: layer {record.name} has binary weights that are not two-valued: {why}; deploy a "
                "checkpoint that passes bnn evaluate's binary check"
            )
        positive, scale = split
        signs = torch.where(positive, 1.0, -1.0)
        if record.op == "linear":
            signs, in_shape = signs[:, :, None, None], (record.in_shape[0], 1, 1)
        else:
            in_shape = record.in_shape
        scale = scale.view(1, -1, 1, 1).to(signs.dtype)
        offset = -scale * ones_response(signs, in_shape, self.conv_args)
        self.binarize = BinaryInput()
        self.binarize_strict = BinaryInput(strict=True) if record.sign_zero == "zero" else None
        self.register_buffer("weight", signs)
        self.register_buffer("gain", scale if self.binarize_strict is not None else 2 * scale)
        self.register_buffer("offset", offset if bias is None else offset + bias.view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "W1/A1":
            z = self.source.latent_input(x) if self.source is not None else x
            z = z[:, :, None, None] if self.op == "linear" else z
            counts = F.conv2d(self.binarize(z), self.weight, None, **self.conv_args)
            if self.binarize_strict is not None:
                counts = counts + F.conv2d(self.binarize_strict(z), self.weight, None, **self.conv_args)
            out = counts * self.gain + self.offset
            return out.flatten(1) if self.op == "linear" else out
        if self.kind == "W32/A1":
            x = sign(self.source.latent_input(x) if self.source is not None else x, self.zero)
        if self.op == "linear":
            return F.linear(x, self.weight, self.bias)
        return F.conv2d(x, self.weight, self.bias, **self.conv_args)

    def extra_repr(self) -> str:
        return f"{self.kind}, {self.op}, weight={tuple(self.weight.shape)}"


def deploy_twin(model: nn.Module, in_shape: tuple[int, ...]) -> tuple[nn.Module, list[LayerRecord]]:
    """A copy of ``model`` in eval mode whose binarizable layers are :class:`DeployLayer` s, and the
    records of those layers in call order. Raises a one-line BnnError naming any part that cannot be mapped."""
    twin = copy.deepcopy(model).eval()
    calls = trace_layers(twin, tuple(in_shape))
    parents = {child: (parent, name) for parent in twin.modules() for name, child in parent.named_children()}
    for layer, record in calls:
        parent, name = parents[layer]
        setattr(parent, name, DeployLayer(layer, record))
    return twin, [record for _, record in calls]


def float_model(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every binarizable layer real: the same architecture as a float network."""
    twin = copy.deepcopy(model).eval()
    for module in twin.modules():
        if isinstance(module, BinaryLayer):
            module.set_binary(False, False)
    return twin
