"""Per-epoch learning-rate schedules by name (factors of the base lr, stepped once per epoch)."""

from __future__ import annotations

import math

from bnn.registry import Registry

LR_SCHEDULES: Registry = Registry("lr schedule")


@LR_SCHEDULES.register("constant")
def constant(epoch: int, epochs: int) -> float:
    return 1.0


@LR_SCHEDULES.register("cosine")
def cosine(epoch: int, epochs: int, warmup: int = 0) -> float:
    """Linear warm-up (e+1)/(W+1) for e < W, then cosine to 0 (docs/methods.md §6.7; W = 0: CosineAnnealingLR)."""
    if epoch < warmup:
        return (epoch + 1) / (warmup + 1)
    return 0.5 * (1 + math.cos(math.pi * (epoch - warmup) / max(1, epochs - warmup)))


@LR_SCHEDULES.register("linear")
def linear(epoch: int, epochs: int) -> float:
    """Linear decay to 0: lr * (1 - e / E) (AdamBNN, docs/methods.md §4.3)."""
    return 1.0 - epoch / epochs


@LR_SCHEDULES.register("multistep")
def multistep(epoch: int, epochs: int, milestones: list[int] = (), gamma: float | list[float] = 0.1) -> float:
    """lr * gamma^(number of milestones reached) (docs/methods.md §5.5); ``gamma`` a list: the product of the factors
    of the milestones reached, one per milestone (BinaryNet's regime, §0.5 a)."""
    reached = sum(epoch >= m for m in milestones)
    if isinstance(gamma, (int, float)):
        return gamma**reached
    if len(gamma) != len(milestones):
        raise ValueError(f"gamma has {len(gamma)} factors for {len(milestones)} milestones; give one per milestone")
    return math.prod(gamma[:reached])
