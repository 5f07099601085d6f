"""Cross-entropy and the teacher terms (docs/methods.md §0.6): ``ce``, ``kd`` (Hinton), ``distributional`` (ReActNet).

Hinton KD, ``α·T²·KL(softmax(z_t/T) ‖ softmax(z_s/T)) + (1−α)·CE``, is the loss ``{kd: {weight: α,
temperature: T}, ce: 1−α}``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from bnn.losses.term import TERMS, Step, Term


@TERMS.register("ce")
class CrossEntropy(Term):
    """Cross-entropy with the labels."""

    def forward(self, step: Step) -> torch.Tensor:
        return F.cross_entropy(step.logits, step.labels)


@TERMS.register("kd")
class HintonKD(Term):
    """T²·KL(softmax(z_t/T) ‖ softmax(z_s/T)), the KL summed over classes and averaged over the batch (§0.6)."""

    needs_teacher = True

    def __init__(self, num_classes: int, temperature: float = 4.0):
        super().__init__(num_classes)
        self.temperature = temperature

    def forward(self, step: Step) -> torch.Tensor:
        t = self.temperature
        kl = F.kl_div(
            F.log_softmax(step.logits / t, dim=1), F.softmax(step.teacher_logits / t, dim=1), reduction="batchmean"
        )
        return t * t * kl


@TERMS.register("distributional")
class Distributional(Term):
    """ReActNet/AdamBNN's distributional loss: soft cross-entropy to the teacher, T = 1, no labels (§0.6)."""

    needs_teacher = True

    def forward(self, step: Step) -> torch.Tensor:
        return -(F.softmax(step.teacher_logits, dim=1) * F.log_softmax(step.logits, dim=1)).sum(dim=1).mean()
