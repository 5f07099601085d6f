"""Sign flips of the binary weights over an epoch: AdamBNN's stability measure (docs/methods.md §4.4), logged as
``flip_ratio`` in metrics.csv."""

from __future__ import annotations

import torch
from torch import nn

from bnn.nn import binary_layers


def weight_signs(model: nn.Module) -> dict[int, torch.Tensor]:
    """Signs of the effective weights of the layers whose weights are binary now (eval mode, so a
    stochastic estimator gives its deterministic sign)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        signs = {
            i: layer.effective_weight().sign() for i, layer in enumerate(binary_layers(model)) if layer.binary_weights
        }
    model.train(was_training)
    return signs


def flip_ratio(before: dict[int, torch.Tensor], model: nn.Module) -> float | None:
    """Fraction of binary weights whose sign changed since ``before``."""
    if not before:
        return None
    after = weight_signs(model)
    changed = torch.stack([(after[i] != signs).sum() for i, signs in before.items()]).sum()
    return int(changed) / sum(signs.numel() for signs in before.values())
