"""Optimizers that act on binary weights directly (docs/methods.md §2.3–2.5).

The parameter itself holds the binary weight (±1, signP convention §0.1); the latent quantity each
method accumulates lives in the optimizer state. The gradient they read is dL/dW_b (the layer's
estimator passes it through: |±1| <= 1). Every step writes ±1 values back, so the layer's forward
sign is the identity on these weights. ``flips`` counts sign changes per weight.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod

import torch

from bnn.nn.estimators import sign
from bnn.train.callbacks import Callbacks


class BinaryOptimizer(torch.optim.Optimizer, Callbacks, metaclass=ABCMeta):
    """Base: binarizes its parameters on construction; subclasses decide when a weight flips."""

    def __init__(self, params, defaults: dict):
        super().__init__(params, defaults)
        with torch.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    p.copy_(sign(p))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    new = self.update(p, p.grad, group, self.state[p])
                    flips = self.state[p].setdefault("flips", torch.zeros_like(p))
                    flips.add_((new != p).to(p.dtype))
                    p.copy_(new)

    @abstractmethod
    def update(self, p: torch.Tensor, grad: torch.Tensor, group: dict, state: dict) -> torch.Tensor:
        """The new ±1 weight tensor for ``p``."""


class Bop(BinaryOptimizer):
    """Bop (§2.5): m = (1−γ)·m + γ·g; w ← −w where w·m > τ."""

    def __init__(self, params, gamma: float = 1e-4, threshold: float = 1e-8):
        super().__init__(params, {"gamma": gamma, "threshold": threshold})

    def update(self, p, grad, group, state):
        m = state.setdefault("m", torch.zeros_like(p))
        m.mul_(1 - group["gamma"]).add_(grad, alpha=group["gamma"])
        return torch.where(p * m > group["threshold"], -p, p)


class Bop2ndOrder(BinaryOptimizer):
    """Bop2ndOrder, biased (§2.5): m += γ(g − m); v += σ(g² − v); r = m / (√v + 1e−10); w ← −w where w·r > τ."""

    def __init__(self, params, gamma: float = 1e-7, sigma: float = 1e-3, threshold: float = 1e-6):
        super().__init__(params, {"gamma": gamma, "sigma": sigma, "threshold": threshold})

    def update(self, p, grad, group, state):
        m = state.setdefault("m", torch.zeros_like(p))
        v = state.setdefault("v", torch.zeros_like(p))
        m.add_(grad - m, alpha=group["gamma"])
        v.add_(grad * grad - v, alpha=group["sigma"])
        r = m / (v.sqrt() + 1e-10)
        return torch.where(p * r > group["threshold"], -p, p)


class SGDAT(BinaryOptimizer):
    """SGDAT (§2.4): SGD on an unclipped accumulator m (starts at 0); a weight takes sign(m) only where
    |m| > τ·n, n = its own number of flips. ``reset_flips_every_epoch`` reproduces the reference code,
    which re-creates the optimizer (so n) every epoch; the default counts flips over the whole stage."""

    def __init__(
        self,
        params,
        lr: float = 1e-4,
        threshold: float = 1e-6,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        reset_flips_every_epoch: bool = False,
    ):
        super().__init__(
            params,
            {
                "lr": lr,
                "threshold": threshold,
                "momentum": momentum,
                "dampening": dampening,
                "nesterov": nesterov,
                "weight_decay": weight_decay,
            },
        )
        self.reset_flips_every_epoch = reset_flips_every_epoch

    def on_epoch_start(self, epoch: int, epochs: int) -> None:
        if self.reset_flips_every_epoch:
            for state in self.state.values():
                state.pop("flips", None)
                state.pop("buffer", None)  # the reference's fresh optimizer also drops momentum

    def update(self, p, grad, group, state):
        d = grad + group["weight_decay"] * p if group["weight_decay"] else grad
        if group["momentum"]:
            buffer = state.setdefault("buffer", torch.zeros_like(p))
            buffer.mul_(group["momentum"]).add_(grad, alpha=1 - group["dampening"])
            d = d + group["momentum"] * buffer if group["nesterov"] else buffer
        m = state.setdefault("m", torch.zeros_like(p))
        m.add_(d, alpha=-group["lr"])
        theta = group["threshold"] * state.setdefault("flips", torch.zeros_like(p))
        return sign(torch.where(m.abs() > theta, m, p))


class SGDT(BinaryOptimizer):
    """SGDT (§2.3): SGD on a latent clipped to [−1, 1] (starts at 0, as the reference's ``org``); a weight
    takes sign(latent) only where |latent| > τ, else keeps its previous binary value."""

    def __init__(self, params, lr: float = 1e-4, threshold: float = 1e-8, momentum: float = 0.0):
        super().__init__(params, {"lr": lr, "threshold": threshold, "momentum": momentum})

    def update(self, p, grad, group, state):
        d = grad
        if group["momentum"]:
            buffer = state.setdefault("buffer", torch.zeros_like(p))
            d = buffer.mul_(group["momentum"]).add_(grad)
        latent = state.setdefault("latent", torch.zeros_like(p))
        latent.add_(d, alpha=-group["lr"]).clamp_(-1.0, 1.0)
        return sign(torch.where(latent.abs() > group["threshold"], latent, p))
