"""Binary ResNets for 32x32 images (CIFAR): 3x3 stem without max-pool, three or four stages.

* ``resnet20_bireal`` (docs/methods.md §0.5 e): IR-Net / SD-BNN / SKD-BNN ResNet-20, a shortcut around
  every binary 3x3 conv (18 of them), option-A shortcuts, Hardtanh, BN1d before the classifier.
* ``resnet20`` (§5.4): akamaster's standard ResNet-20 used by Iterative Training, ReLU, one shortcut
  per two convs (option A), PyTorch default init; all 20 layers binarizable.
* ``resnet18_cifar`` (§0.5 f): standard blocks with Hardtanh, 16 binary convs, float 1x1 downsample.
* ``resnet_binary`` (§0.5 c): SGDAT's BinaryNet.pytorch CIFAR ResNet, width 80/160/320 and two blocks
  per stage ("depth 18" gives n = (18 - 2) // 6 = 2, so 12 binary 3x3 + 2 binary 1x1 convs, not a
  ResNet-18: the reference's quirk, reproduced).
"""

from __future__ import annotations

from torch import nn

from bnn.errors import BnnError
from bnn.models.parts import check_square_image, init_kaiming_normal
from bnn.models.registry import MODELS
from bnn.models.resnet_blocks import BasicBlock, PostAddBlock, SingleConvBlock, block_plan, network, pooled_head
from bnn.nn import BinaryConv2d, BinaryLinear


def stem(in_channels: int, width: int, act: nn.Module) -> list[nn.Module]:
    """Binarizable 3x3 conv (no bias) -> BN -> activation, no max-pool."""
    return [BinaryConv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), act]


@MODELS.register("resnet20_bireal")
def resnet20_bireal(num_classes: int, in_shape: tuple[int, ...]) -> nn.Sequential:
    """Bi-Real-style ResNet-20 (§0.5 e): h = Hardtanh(BN(conv(x)) + shortcut(x)) for each of the 18 binary
    convs (widths 16/32/64), global pool -> BN1d(64) -> Linear; kaiming_normal init of convs and Linear."""
    blocks = [
        SingleConvBlock(c_in, c_out, stride, "A", nn.Hardtanh())
        for c_in, c_out, stride in block_plan(16, (16, 32, 64), (1, 2, 2), 6)
    ]
    model = network(stem(in_shape[0], 16, nn.Hardtanh()), blocks, pooled_head(64, num_classes, norm=True))
    init_kaiming_normal(model)
    return model


@MODELS.register("resnet20")
def resnet20(num_classes: int, in_shape: tuple[int, ...]) -> nn.Sequential:
    """Standard ResNet-20 (§5.4): stem conv -> BN -> ReLU, 9 blocks relu(BN(conv)) -> BN(conv) + shortcut
    -> ReLU (option A), global pool -> Linear (bias, no BN); PyTorch default init."""
    blocks = [
        BasicBlock(c_in, c_out, stride, "A", nn.ReLU())
        for c_in, c_out, stride in block_plan(16, (16, 32, 64), (1, 2, 2), 3)
    ]
    return network(stem(in_shape[0], 16, nn.ReLU()), blocks, pooled_head(64, num_classes, norm=False))


@MODELS.register("resnet18_cifar")
def resnet18_cifar(num_classes: int, in_shape: tuple[int, ...]) -> nn.Sequential:
    """CIFAR ResNet-18 (§0.5 f): stem -> BN -> Hardtanh, stages [2, 2, 2, 2] of widths 64..512, downsample
    = float 1x1 conv + BN, AvgPool -> BN1d(512) -> Linear; kaiming_normal init of convs and Linear."""
    blocks = [
        BasicBlock(c_in, c_out, stride, "conv", nn.Hardtanh())
        for c_in, c_out, stride in block_plan(64, (64, 128, 256, 512), (1, 2, 2, 2), 2)
    ]
    model = network(stem(in_shape[0], 64, nn.Hardtanh()), blocks, pooled_head(512, num_classes, norm=True))
    init_kaiming_normal(model)
    return model


@MODELS.register("resnet_binary")
def resnet_binary(num_classes: int, in_shape: tuple[int, ...]) -> nn.Sequential:
    """SGDAT's resnet_binary (§0.5 c) for 32x32 or 64x64 inputs: float stem 3x3 -> BN -> Hardtanh, six
    post-add blocks (the last skips its BN + Hardtanh), AvgPool2d(8) -> BN1d -> Hardtanh -> Linear ->
    BN1d (64x64 inputs pool to 2x2, so 1280 features). Binary convs N(0, sqrt(2/(k²·C_out)))."""
    channels, side = check_square_image("resnet_binary", in_shape)
    if side < 32:
        raise BnnError(
            f"arch: resnet_binary needs images of at least 32x32 (its head pools 8x8 after two "
            f"stride-2 stages); the data is {side}x{side}"
        )
    plan = block_plan(80, (80, 160, 320), (1, 2, 2), 2)
    blocks = [
        PostAddBlock(c_in, c_out, stride, post_norm=i < len(plan) - 1) for i, (c_in, c_out, stride) in enumerate(plan)
    ]
    features = 320 * (side // 4 // 8) ** 2
    head = [
        nn.AvgPool2d(8),
        nn.Flatten(),
        nn.BatchNorm1d(features),
        nn.Hardtanh(),
        BinaryLinear(features, num_classes),
        nn.BatchNorm1d(num_classes),
    ]
    model = network(stem(channels, 80, nn.Hardtanh()), blocks, head)
    init_kaiming_normal(model.blocks, mode="fan_out", only=(BinaryConv2d,))
    return model
