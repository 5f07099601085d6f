"""Pieces shared by the model zoo: activations by name, the VGG/BinaryNet conv stack, initialisers.

Every conv or linear layer that a recipe may binarize is a ``BinaryConv2d``/``BinaryLinear``
(all switches off when built); the schedule decides which ones are binary (docs/methods.md §5.1, §5.2).
"""

from __future__ import annotations

from torch import nn

from bnn.errors import BnnError
from bnn.nn import BinaryConv2d, BinaryLinear
from bnn.registry import Registry

ACTIVATIONS: Registry = Registry("activation")
ACTIVATIONS.register("hardtanh")(nn.Hardtanh)  # BinaryNet, IR-Net, SD-BNN, SKD-BNN (§0.5)
ACTIVATIONS.register("relu")(nn.ReLU)  # Iterative Training (§5.4)


def activation(name: str) -> nn.Module:
    return ACTIVATIONS.get(name, "activation")()


def conv_stack(
    in_channels: int,
    widths: list[int],
    pools: list[bool],
    *,
    activation_name: str,
    pool_before_norm: bool,
    bias: bool,
    stem_bias: bool | None = None,
) -> list[nn.Module]:
    """3x3 conv layers, each followed by BN and the activation, some by a 2x2 max-pool.

    ``pool_before_norm``: conv -> MaxPool -> BN -> act (BinaryNet, VGG-Small, §0.5 b, d); otherwise
    conv -> BN -> act -> MaxPool (Frankle et al.'s VGG used by Iterative Training, §5.4).
    ``stem_bias`` is the first conv's bias (default: ``bias``).
    """
    layers: list[nn.Module] = []
    for i, (width, pool) in enumerate(zip(widths, pools)):
        has_bias = stem_bias if i == 0 and stem_bias is not None else bias
        layers.append(BinaryConv2d(in_channels, width, 3, padding=1, bias=has_bias))
        post = [nn.BatchNorm2d(width), activation(activation_name)]
        if pool:
            post = [nn.MaxPool2d(2), *post] if pool_before_norm else [*post, nn.MaxPool2d(2)]
        layers += post
        in_channels = width
    return layers


def check_square_image(arch: str, in_shape: tuple[int, ...]) -> tuple[int, int]:
    """(channels, side) of a square image shape, or a one-line error naming the architecture."""
    if len(in_shape) != 3 or in_shape[1] != in_shape[2]:
        raise BnnError(f"arch: {arch} needs square images (C, S, S); the data has shape {list(in_shape)}")
    return in_shape[0], in_shape[1]


def init_kaiming_normal(
    model: nn.Module, mode: str = "fan_in", only: tuple[type, ...] = (nn.Conv2d, nn.Linear)
) -> None:
    """He-normal weights, N(0, sqrt(2 / fan)) for every module of the types ``only``; biases untouched."""
    for module in model.modules():
        if isinstance(module, only):
            nn.init.kaiming_normal_(module.weight, mode=mode)


def binarizable(model: nn.Module) -> nn.Module:
    """Swap every ``nn.Conv2d``/``nn.Linear`` of ``model`` for its Binary twin, in place, keeping the
    parameters (so the original initialisation) and the registration order."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, (BinaryConv2d, BinaryLinear)):
                continue
            if isinstance(child, nn.Conv2d):
                if child.groups != 1 or child.dilation != (1, 1) or len(set(child.kernel_size)) != 1:
                    raise ValueError(f"{name}: only square, ungrouped, undilated convs can be swapped")
                twin = BinaryConv2d(
                    child.in_channels,
                    child.out_channels,
                    child.kernel_size[0],
                    child.stride[0],
                    child.padding[0],
                    bias=child.bias is not None,
                )
            elif isinstance(child, nn.Linear):
                twin = BinaryLinear(child.in_features, child.out_features, bias=child.bias is not None)
            else:
                continue
            twin.weight, twin.bias = child.weight, child.bias
            setattr(parent, name, twin)
    return model
