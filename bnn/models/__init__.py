"""Model registry: ``build(arch, num_classes, in_shape, **options)`` (like timm's ``create_model``).

Every Linear/Conv that a recipe may binarize is a binarizable layer; which ones are binary, and when,
is the schedule's business (:mod:`bnn.config.schedule`), never the model's. The stem is the first binarizable
layer and the classifier the last, so ``layers: inner`` binarizes exactly the papers' binary layers.
The zoo (docs/methods.md §0.5, §5.4, §6.7) is listed in ``docs/architecture.md``.
"""

from __future__ import annotations

import inspect

from torch import nn

from bnn.errors import BnnError

# importing a module registers its architectures
from bnn.models import convnet, mlp, reactnet, resnet_cifar, resnet_imagenet, teachers, vgg  # noqa: F401
from bnn.models.registry import MODELS


def build(
    arch: str, num_classes: int, in_shape: tuple[int, ...] | list[int], key: str = "model", **options
) -> nn.Module:
    """Build architecture ``arch``; ``key`` is the config key path used in error messages."""
    factory = MODELS.get(arch, f"{key}.arch")
    accepted = set(inspect.signature(factory).parameters) - {"num_classes", "in_shape"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise BnnError(
            f"{key}.{unknown[0]}: not an option of model {arch!r}; "
            f"its options are: {', '.join(sorted(accepted)) or 'none'}"
        )
    try:
        return factory(num_classes=num_classes, in_shape=tuple(in_shape), **options)
    except BnnError as exc:  # a bad option value or data shape: name the config key
        raise BnnError(f"{key}.{exc}") from None


__all__ = ["MODELS", "build"]
