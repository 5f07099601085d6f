"""Loss and top-k accuracy of a model over a loader: the one evaluation loop (validation and ``bnn evaluate``).

Sums accumulate on the model's device; the host reads them once, at the end. No weight changes during a pass, so the
binary layers compute their binary weights once per pass (:func:`bnn.nn.cache.frozen_weights`). ``bnn evaluate`` also
keeps every test image's label and top-1 prediction (docs/results.md, "Statistics").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from bnn.nn.cache import frozen_weights


@dataclass(frozen=True)
class Scores:
    loss: float  # mean cross-entropy
    top1: float  # %
    top5: float  # %
    count: int
    labels: torch.Tensor | None = None  # with keep_predictions: every example's label and top-1 class, in order
    predicted: torch.Tensor | None = None


@torch.no_grad()
def score(model: nn.Module, loader, keep_predictions: bool = False) -> Scores:
    """Mean cross-entropy, top-1 and top-5 (%) of ``model`` (put in eval mode) over every batch of ``loader``."""
    model.eval()
    loss_sum = top1 = top5 = None
    count = 0
    labels, predicted = [], []
    with frozen_weights(model):
        for x, y in loader:
            logits = model(x)
            best = logits.topk(min(5, logits.shape[1]), dim=1).indices
            if keep_predictions:
                labels.append(y)
                predicted.append(best[:, 0])
            batch = (
                F.cross_entropy(logits, y, reduction="sum").double(),
                (best[:, 0] == y).sum(),
                (best == y[:, None]).any(dim=1).sum(),
            )
            loss_sum, top1, top5 = (
                batch if loss_sum is None else (loss_sum + batch[0], top1 + batch[1], top5 + batch[2])
            )
            count += len(y)
    loss_sum, top1, top5 = (float(v) for v in torch.stack([loss_sum, top1.double(), top5.double()]).tolist())
    kept = (torch.cat(labels).cpu(), torch.cat(predicted).cpu()) if keep_predictions else (None, None)
    return Scores(loss_sum / count, 100.0 * top1 / count, 100.0 * top5 / count, count, *kept)
