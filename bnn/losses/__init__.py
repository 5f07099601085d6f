"""Training losses as weighted sums of registered terms: ``ce``, ``kd``, ``distributional`` (docs/methods.md §0.6) and
SKD-BNN's ``skd_features``, ``skd_labels``, ``skd_cluster`` (§6)."""

from bnn.losses import (
    distillation,  # noqa: F401  (registers ce, kd, distributional)
    skd,  # noqa: F401  (registers the SKD-BNN terms)
)
from bnn.losses.loss import Loss, build_loss
from bnn.losses.term import TERMS, Step, Term

__all__ = ["TERMS", "Loss", "Step", "Term", "build_loss"]
