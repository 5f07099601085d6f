"""Binary ResNet-18s for 224x224 images (ImageNet): 7x7/2 stem and 3x3/2 max-pool, four stages.

* ``resnet18_bireal`` (docs/methods.md §0.5 g, SD-BNN variant): 16 single-conv Bi-Real blocks with PReLU.
* ``resnet21`` (§5.1, §5.4): Iterative Training's ResNet-21, torchvision's ResNet-18 with every conv
  and the classifier binarizable: 17 3x3/7x7 convs + 3 downsample 1x1 convs + FC = 21 layers.
"""

from __future__ import annotations

from torch import nn

from bnn.models.parts import binarizable
from bnn.models.registry import MODELS
from bnn.models.resnet_blocks import SingleConvBlock, block_plan, network, pooled_head
from bnn.models.teachers import torchvision_resnet
from bnn.nn import BinaryConv2d


@MODELS.register("resnet18_bireal")
def resnet18_bireal(num_classes: int, in_shape: tuple[int, ...]) -> nn.Sequential:
    """Bi-Real ResNet-18 as in SD-BNN (§0.5 g): stem 7x7/2 conv -> BN -> MaxPool 3x3/2 (no activation);
    4 stages x 4 blocks binconv3x3 -> BN -> (+ downsample) -> PReLU(C), widths 64..512, downsample =
    AvgPool2d(2) -> float 1x1 conv -> BN; global pool -> Linear. PyTorch default init."""
    blocks = [
        SingleConvBlock(c_in, c_out, stride, "avgpool_conv", nn.PReLU(c_out))
        for c_in, c_out, stride in block_plan(64, (64, 128, 256, 512), (1, 2, 2, 2), 4)
    ]
    stem = [
        BinaryConv2d(in_shape[0], 64, 7, stride=2, padding=3, bias=False),
        nn.BatchNorm2d(64),
        nn.MaxPool2d(3, stride=2, padding=1),
    ]
    return network(stem, blocks, pooled_head(512, num_classes, norm=False))


@MODELS.register("resnet21")
def resnet21(num_classes: int, in_shape: tuple[int, ...]) -> nn.Module:
    """ITR ResNet-21 (§5.1, §5.4): torchvision ResNet-18 (its init) with all 21 layers binarizable,
    the downsample 1x1 convs included."""
    return binarizable(torchvision_resnet("resnet21", 18, num_classes, in_shape))
