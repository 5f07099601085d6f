"""Training losses by name: cross-entropy, Hinton KD, the distributional loss (METHODS.md §0.6) and SKD-BNN (§6).

The loop calls a loss as ``loss(logits, labels, teacher_logits)`` once per training batch. A loss that
needs more than the logits hooks into the model in :meth:`Loss.attach`, is told when an epoch ends,
and keeps its state across epochs in ``state_dict()`` (saved in ``resume.pt``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from bnn.errors import BnnError
from bnn.registry import Registry
from bnn.skd import LabelBank, ShadowBranch, channel_spatial, label_cluster

LOSSES: Registry = Registry("loss")


class Loss:
    needs_teacher = False

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor,
                 teacher_logits: torch.Tensor | None = None) -> torch.Tensor:
        return F.cross_entropy(logits, labels)

    def attach(self, model: torch.nn.Module) -> None:
        """Called once with the stage's model before training."""

    def end_epoch(self) -> None:
        """Called after each training epoch (before the resume state is saved)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""


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


@LOSSES.register("skd")
class SelfKD(Loss):
    """SKD-BNN's total loss (§6.6): CE + alpha * mean_l L_fm(binary, shadow feature l) (§6.2, §6.3)
    + beta * T^2 * KL(soft label of the previous epoch || student) (§6.4) + gamma * L_cluster (§6.5)."""

    def __init__(self, alpha: float = 1.0, beta: float = 0.05, temperature: float = 4.0, gamma: float = 0.01):
        self.alpha, self.beta, self.temperature, self.gamma = alpha, beta, temperature, gamma
        self.bank = LabelBank()
        self.branch: ShadowBranch | None = None

    def attach(self, model):
        self.branch = ShadowBranch(model)

    def __call__(self, logits, labels, teacher_logits=None):
        pairs = self.branch.pairs()
        features = sum(channel_spatial(f, g) for f, g in pairs) / len(pairs) if pairs else 0.0
        label = self.bank.kl(logits, labels, self.temperature)
        self.bank.observe(logits, labels)
        return (F.cross_entropy(logits, labels) + self.alpha * features
                + self.beta * self.temperature ** 2 * label
                + self.gamma * label_cluster(self.branch.penultimate, labels))

    def end_epoch(self):
        self.bank.end_epoch()

    def state_dict(self):
        return self.bank.state_dict()

    def load_state_dict(self, state):
        self.bank.load_state_dict(state)


def build_loss(spec: dict, key: str = "loss") -> Loss:
    options = {k: v for k, v in spec.items() if k != "name"}
    cls = LOSSES.get(spec.get("name", "ce"), f"{key}.name")
    try:
        return cls(**options)
    except TypeError:
        raise BnnError(f"{key}: {sorted(options)} are not options of loss {spec.get('name')!r}") from None

