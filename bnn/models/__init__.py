"""Model registry: ``build(arch, num_classes, in_shape, **options)`` (like timm's ``create_model``).

Every Linear/Conv of a model is a binarizable layer; which ones are binary, and when, is the
schedule's business (:mod:`bnn.schedule`), never the model's.
"""

from __future__ import annotations

import inspect

from torch import nn

from bnn.errors import BnnError
from bnn.models.registry import MODELS
from bnn.models import convnet, mlp, reactnet  # noqa: F401  (register the architectures)


def build(arch: str, num_classes: int, in_shape: tuple[int, ...] | list[int], key: str = "model",
          **options) -> nn.Module:
    """Build architecture ``arch``; ``key`` is the config key path used in error messages."""
    factory = MODELS.get(arch, f"{key}.arch")
    accepted = set(inspect.signature(factory).parameters) - {"num_classes", "in_shape"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise BnnError(f"{key}.{unknown[0]}: not an option of model {arch!r}; "
                       f"its options are: {', '.join(sorted(accepted)) or 'none'}")
    return factory(num_classes=num_classes, in_shape=tuple(in_shape), **options)


__all__ = ["MODELS", "build"]
