"""What a binary-weight layer's effective weight must be: ±scale_c per output channel (docs/methods.md §0.3).

Shared by the binary check of ``bnn evaluate`` and by ``bnn export``, which packs exactly these signs
and scales.
"""

from __future__ import annotations

import torch

from bnn.nn import BinaryLayer


def split_weight(layer: BinaryLayer) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(effective weight > 0, scale per output channel)`` when the effective weight is exactly
    ±scale_c with one scale_c > 0 per output channel; ``None`` when it is not two-valued that way."""
    with torch.no_grad():
        weight = layer.effective_weight().detach()
    magnitude = weight.flatten(1).abs()
    scale = magnitude[:, 0]
    if not bool((scale > 0).all() and (magnitude == scale[:, None]).all()):
        return None
    return weight > 0, scale.clone()  # its own storage: a view would save the whole weight
