"""What a deploy backend is: a name, how it prepares a timed call of a deployed model, its engine's version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from bnn.registry import Registry


@dataclass
class Prepared:
    """One backend ready to run ``batch`` inputs: ``run`` (one call), the inference ``precision`` it compiled to,
    and for the binary IR its ``census`` (BinaryConvolution nodes, per W1/A1 layer whether it is one)."""

    run: Callable[[], object]
    precision: str = "f32"
    census: tuple[int, dict[str, bool]] | None = None


@dataclass(frozen=True)
class Backend:
    """``prepare(deployed, x, array, threads)`` -> :class:`Prepared`; ``engine()`` -> "name version";
    ``deployed``: runs one of bnn deploy's files (verified against PyTorch and gated, bnn.deploy.verify)."""

    name: str
    prepare: Callable[[object, torch.Tensor, np.ndarray, int], Prepared]
    engine: Callable[[], str]
    deployed: bool = False


REGISTRY: Registry[Backend] = Registry("deploy backend")


def register(backend: Backend) -> str:
    """Register ``backend``; returns its name (the module's constant)."""
    REGISTRY.register(backend.name)(backend)
    return backend.name


def torch_engine() -> str:
    return f"torch {torch.__version__}"


def openvino_engine() -> str:
    import openvino

    return f"openvino {openvino.__version__.split('-')[0]}"
