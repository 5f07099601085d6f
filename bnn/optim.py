"""Optimizers with parameter groups, and per-epoch learning-rate schedules (METHODS.md §2.1, §4.3).

Parameters are split into two named groups, as the papers do (SGDAT's bin/fp regimes, AdamBNN's
conv-weight group): ``weights`` — the weight tensors of every binarizable layer (the latent weights
of the binary ones), and ``other`` — everything else (biases, BatchNorm, ...). The optimizer config
holds the shared hyper-parameters; ``groups: {weights: {...}, other: {...}}`` overrides them per group.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from bnn.errors import BnnError
from bnn.nn import binary_layers
from bnn.registry import Registry

OPTIMIZERS: Registry = Registry("optimizer")
OPTIMIZERS.register("sgd")(torch.optim.SGD)
OPTIMIZERS.register("adam")(torch.optim.Adam)
OPTIMIZERS.register("adamw")(torch.optim.AdamW)

LR_SCHEDULES: Registry = Registry("lr schedule")
GROUPS = ("weights", "other")


def parameter_groups(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    latent = {id(layer.weight) for layer in binary_layers(model)}
    groups: dict[str, list[nn.Parameter]] = {name: [] for name in GROUPS}
    for param in model.parameters():
        groups["weights" if id(param) in latent else "other"].append(param)
    return groups


def build_optimizer(spec: dict, model: nn.Module, key: str = "optimizer") -> torch.optim.Optimizer:
    spec = dict(spec)
    cls = OPTIMIZERS.get(spec.pop("name", "adam"), f"{key}.name")
    overrides = spec.pop("groups", {}) or {}
    params = parameter_groups(model)
    for name in overrides:
        if name not in GROUPS:
            raise BnnError(f"{key}.groups.{name}: unknown parameter group; use {' or '.join(GROUPS)}")
        if not params[name]:
            raise BnnError(f"{key}.groups.{name}: this model has no parameter in group {name!r}; remove the override")
    groups = [{"params": p, "name": name, **overrides.get(name, {})} for name, p in params.items() if p]
    try:
        return cls(groups, **spec)
    except TypeError as exc:
        raise BnnError(f"{key}: bad option for {cls.__name__} ({exc})") from None


@LR_SCHEDULES.register("constant")
def constant(epoch: int, epochs: int) -> float:
    return 1.0


@LR_SCHEDULES.register("cosine")
def cosine(epoch: int, epochs: int, warmup: int = 0) -> float:
    """Linear warm-up for ``warmup`` epochs, then cosine to 0 (METHODS.md §6.7)."""
    if epoch < warmup:
        return (epoch + 1) / (warmup + 1)
    return 0.5 * (1 + math.cos(math.pi * (epoch - warmup) / max(1, epochs - warmup)))


@LR_SCHEDULES.register("linear")
def linear(epoch: int, epochs: int) -> float:
    """Linear decay to 0: lr * (1 - e / E) (AdamBNN, METHODS.md §4.3)."""
    return 1.0 - epoch / epochs


@LR_SCHEDULES.register("multistep")
def multistep(epoch: int, epochs: int, milestones: list[int] = (), gamma: float = 0.1) -> float:
    return gamma ** sum(epoch >= m for m in milestones)


def build_lr_schedule(spec: dict, optimizer: torch.optim.Optimizer, epochs: int, key: str = "lr_schedule"):
    options = {k: v for k, v in spec.items() if k != "name"}
    factor = LR_SCHEDULES.get(spec.get("name", "constant"), f"{key}.name")
    try:
        factor(0, epochs, **options)
    except TypeError:
        raise BnnError(f"{key}: {sorted(options)} are not options of schedule {spec.get('name')!r}") from None
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: factor(epoch, epochs, **options))
