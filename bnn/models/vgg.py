"""VGG-style nets: a 3x3 conv stack with 2x2 max-pools, flattened into an MLP head (``bnn.models.mlp``).

* ``vgg5``, ``vgg9``: Iterative Training's VGGs after Frankle et al. (docs/methods.md §5.4): conv (bias)
  -> BN -> ReLU [-> MaxPool], FC 256 -> 256 with BN + ReLU, output FC -> BN1d; all layers binarizable.
* ``vgg_small``: LQ-Nets / IR-Net VGG-Small (§0.5 d), 5 binary convs between a float stem and classifier.
* ``binarynet_vgg``: the BinaryNet VGG used by SGDAT (§0.5 b) for 32x32 (CIFAR) or 64x64 (Tiny-ImageNet).
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from bnn.models.mlp import MLP
from bnn.models.parts import check_square_image, conv_stack
from bnn.models.registry import MODELS
from bnn.nn import BinaryConv2d

SMALL_WIDTHS = [128, 128, 256, 256, 512, 512]  # VGG-Small and the SGDAT BinaryNet VGG (§0.5 b, d)
SMALL_POOLS = [False, True] * 3


def vgg(
    arch: str,
    num_classes: int,
    in_shape: tuple[int, ...],
    widths: list[int],
    pools: list[bool],
    *,
    activation_name: str,
    pool_before_norm: bool,
    bias: bool,
    stem_bias: bool | None = None,
    hidden: list[int],
    hidden_bias: bool,
    output_norm: str,
) -> nn.Sequential:
    channels, side = check_square_image(arch, in_shape)
    features = conv_stack(
        channels,
        widths,
        pools,
        activation_name=activation_name,
        pool_before_norm=pool_before_norm,
        bias=bias,
        stem_bias=stem_bias,
    )
    side //= 2 ** sum(pools)
    head = MLP(num_classes, (widths[-1], side, side), hidden, activation_name, hidden_bias, output_norm=output_norm)
    return nn.Sequential(OrderedDict(features=nn.Sequential(*features), head=head))


def frankle_vgg(arch: str, num_classes: int, in_shape: tuple[int, ...], blocks: int) -> nn.Sequential:
    """``blocks`` blocks of two convs (64, 128, 256 channels) and a max-pool; PyTorch default init (§5.4)."""
    widths = [w for w in (64, 128, 256)[:blocks] for _ in range(2)]
    return vgg(
        arch,
        num_classes,
        in_shape,
        widths,
        [False, True] * blocks,
        activation_name="relu",
        pool_before_norm=False,
        bias=True,
        hidden=[256, 256],
        hidden_bias=True,
        output_norm="affine",
    )


@MODELS.register("vgg5")
def vgg5(num_classes: int, in_shape: tuple[int, ...]) -> nn.Sequential:
    """ITR VGG-5 (§5.4): conv 64, conv 64, MaxPool, FC 16384 -> 256 -> 256 -> classes (5 layers at 32x32)."""
    return frankle_vgg("vgg5", num_classes, in_shape, blocks=1)


@MODELS.register("vgg9")
def vgg9(num_classes: int, in_shape: tuple[int, ...]) -> nn.Sequential:
    """ITR VGG-9 (§5.4): convs 64, 64, P, 128, 128, P, 256, 256, P; FC 4096 -> 256 -> 256 -> classes."""
    return frankle_vgg("vgg9", num_classes, in_shape, blocks=3)


@MODELS.register("vgg_small")
def vgg_small(num_classes: int, in_shape: tuple[int, ...]) -> nn.Sequential:
    """VGG-Small (§0.5 d): conv -> [MaxPool] -> BN -> Hardtanh, no conv bias, flatten -> Linear (bias).

    Init as IR-Net: convs N(0, sqrt(2/(9·C_out))), Linear N(0, 0.01) with zero bias, BN γ=1 β=0.
    """
    model = vgg(
        "vgg_small",
        num_classes,
        in_shape,
        SMALL_WIDTHS,
        SMALL_POOLS,
        activation_name="hardtanh",
        pool_before_norm=True,
        bias=False,
        hidden=[],
        hidden_bias=False,
        output_norm="none",
    )
    for module in model.modules():
        if isinstance(module, BinaryConv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out")
    nn.init.normal_(model.head.classifier.weight, 0.0, 0.01)
    nn.init.zeros_(model.head.classifier.bias)
    return model


@MODELS.register("binarynet_vgg")
def binarynet_vgg(num_classes: int, in_shape: tuple[int, ...]) -> nn.Sequential:
    """SGDAT's BinaryNet VGG (§0.5 b), input S = 32 or 64: the VGG-Small conv stack with a biased float
    stem, FC 512·(S/8)² -> 1024 -> 1024 (no bias, BN + Hardtanh), classifier (bias) -> BN1d(affine=False).
    PyTorch default init."""
    return vgg(
        "binarynet_vgg",
        num_classes,
        in_shape,
        SMALL_WIDTHS,
        SMALL_POOLS,
        activation_name="hardtanh",
        pool_before_norm=True,
        bias=False,
        stem_bias=True,
        hidden=[1024, 1024],
        hidden_bias=False,
        output_norm="fixed",
    )
