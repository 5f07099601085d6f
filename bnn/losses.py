"""Training losses by name (METHODS.md §0.6): cross-entropy, Hinton KD, and the distributional loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from bnn.errors import BnnError
from bnn.registry import Registry

LOSSES: Registry = Registry("loss")


class Loss:
    needs_teacher = False

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor,
                 teacher_logits: torch.Tensor | None = None) -> torch.Tensor:
        return F.cross_entropy(logits, labels)


@LOSSES.register("ce")
class CrossEntropy(Loss):
    """Plain cross-entropy with the labels."""


@LOSSES.register("kd")
class HintonKD(Loss):
    """alpha * T^2 * KL(softmax(z_t/T) || softmax(z_s/T)) + (1 - alpha) * CE(z_s, y), KL summed / batch (§0.6)."""

    needs_teacher = True

    def __init__(self, alpha: float = 0.9, temperature: float = 4.0):
        self.alpha, self.temperature = alpha, temperature

    def __call__(self, logits, labels, teacher_logits=None):
        t = self.temperature
        kl = F.kl_div(F.log_softmax(logits / t, dim=1), F.softmax(teacher_logits / t, dim=1),
                      reduction="batchmean")
        return self.alpha * t * t * kl + (1 - self.alpha) * F.cross_entropy(logits, labels)


@LOSSES.register("distributional")
class Distributional(Loss):
    """ReActNet/AdamBNN distributional loss: soft cross-entropy to the teacher, T = 1, no label term (§0.6)."""

    needs_teacher = True

    def __call__(self, logits, labels, teacher_logits=None):
        return -(F.softmax(teacher_logits, dim=1) * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


def build_loss(spec: dict, key: str = "loss") -> Loss:
    options = {k: v for k, v in spec.items() if k != "name"}
    cls = LOSSES.get(spec.get("name", "ce"), f"{key}.name")
    try:
        return cls(**options)
    except TypeError:
        raise BnnError(f"{key}: {sorted(options)} are not options of loss {spec.get('name')!r}") from None

