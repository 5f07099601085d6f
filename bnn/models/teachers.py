"""Float-only teachers: torchvision ResNet-18/34 for 224x224 RGB images (docs/methods.md §4.2, §3.5).

Built with ``weights=None`` (no download; train them with the ``float`` recipe or load your own
checkpoint). Their layers are plain ``nn.Conv2d``/``nn.Linear``: ``binary_layers()`` is empty and the
only schedule they accept is all-real. Float versions of the CIFAR models need no teacher class: they
are the same models under a float schedule.
"""

from __future__ import annotations

from torch import nn

from bnn.errors import BnnError
from bnn.models.registry import MODELS


def torchvision_resnet(arch: str, depth: int, num_classes: int, in_shape: tuple[int, ...]) -> nn.Module:
    """torchvision's ResNet-``depth`` with random init, for (3, H, W) images."""
    if len(in_shape) != 3 or in_shape[0] != 3:
        raise BnnError(
            f"arch: {arch} is torchvision's ResNet-{depth} for RGB images (3, H, W); "
            f"the data has shape {list(in_shape)}"
        )
    from torchvision import models  # imported on use: it adds seconds to every bnn command

    return getattr(models, f"resnet{depth}")(weights=None, num_classes=num_classes)


@MODELS.register("resnet18_tv")
def resnet18_tv(num_classes: int, in_shape: tuple[int, ...]) -> nn.Module:
    """torchvision ResNet-18, float-only teacher (§3.5 uses a ResNet-34; 18 is the smaller option)."""
    return torchvision_resnet("resnet18_tv", 18, num_classes, in_shape)


@MODELS.register("resnet34_tv")
def resnet34_tv(num_classes: int, in_shape: tuple[int, ...]) -> nn.Module:
    """torchvision ResNet-34, the float KD teacher of AdamBNN and SD-BNN (§4.2, §3.5)."""
    return torchvision_resnet("resnet34_tv", 34, num_classes, in_shape)
