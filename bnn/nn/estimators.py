"""Sign functions and their straight-through gradient estimators (METHODS.md §0.1, §0.2).

The forward pass is always a sign; an estimator only chooses the backward surrogate. Each
estimator is written as ``stopgrad(sign(x) - F(x)) + F(x)`` so that autograd differentiates the
surrogate ``F``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from bnn.registry import Registry

ESTIMATORS: Registry[type["Estimator"]] = Registry("estimator")


def sign(x: torch.Tensor, zero: str = "plus") -> torch.Tensor:
    """sign(x) in {-1, +1}; ``zero='plus'`` maps 0 to +1 (signP, §0.1), ``zero='zero'`` keeps torch.sign's 0 (sign0)."""
    if zero == "plus":
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))
    return torch.sign(x)


class Estimator(ABC):
    """Base: forward sign(x), backward of the surrogate ``surrogate(x)``."""

    def __init__(self, zero: str = "plus"):
        self.zero = zero

    @abstractmethod
    def surrogate(self, x: torch.Tensor) -> torch.Tensor:
        """The function whose derivative is the backward pass."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        f = self.surrogate(x)
        return (sign(x, self.zero) - f).detach() + f


@ESTIMATORS.register("ste")
class IdentitySTE(Estimator):
    """Identity STE (§0.2-1): g_in = g_out."""

    def surrogate(self, x: torch.Tensor) -> torch.Tensor:
        return x


@ESTIMATORS.register("clipped_ste")
class ClippedSTE(Estimator):
    """Clipped / Hardtanh STE (§0.2-2): g_in = g_out * 1[|x| <= 1]."""

    def surrogate(self, x: torch.Tensor) -> torch.Tensor:
        # torch.clamp's gradient is 0 at exactly +-1; the formula includes the boundary.
        return torch.where(x.abs() <= 1.0, x, x.detach())


def build_estimator(name: str, zero: str = "plus", key: str | None = None) -> Estimator:
    return ESTIMATORS.get(name, key)(zero=zero)
