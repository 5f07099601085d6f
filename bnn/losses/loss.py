"""A stage's loss: the weighted sum of its named terms (``loss: {ce: 1.0, kd: {weight: 0.9, temperature: 4}}``).

The loop calls ``loss(logits, labels, teacher_logits)`` once per training batch. The loss is an ``nn.Module``
holding its terms, so their buffers (SKD-BNN's soft-label bank) are in ``checkpoint.pt`` and ``resume.pt``, and
the loop's callbacks reach them. Built with the model, it hooks SKD-BNN's shadow branch into the model when a term
needs it (docs/methods.md §6.2).
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from bnn.config.spec import LossSpec
from bnn.errors import BnnError
from bnn.losses.term import TERMS, Step


class Loss(nn.Module):
    """sum_i weight_i * term_i(step), the terms in config order."""

    def __init__(self, spec: LossSpec, num_classes: int, model: nn.Module | None = None, key: str = "loss"):
        super().__init__()
        self.terms = nn.ModuleDict(
            {term.name: build_term(term.name, term.options, num_classes, f"{key}.{term.name}") for term in spec.terms}
        )
        self.weights = [term.weight for term in spec.terms]
        self.needs_teacher = any(term.needs_teacher for term in self.terms.values())
        self.shadow = None
        if model is not None and any(term.needs_shadow for term in self.terms.values()):
            from bnn.skd.shadow import ShadowBranch

            self.shadow = ShadowBranch(model)

    def forward(
        self, logits: torch.Tensor, labels: torch.Tensor, teacher_logits: torch.Tensor | None = None
    ) -> torch.Tensor:
        step = Step(logits, labels, teacher_logits, self.shadow)
        total = None
        for weight, term in zip(self.weights, self.terms.values()):
            value = term(step)
            value = value if weight == 1.0 else weight * value
            total = value if total is None else total + value
        return total


def build_term(name: str, options: dict, num_classes: int, key: str):
    cls = TERMS.get(name, key.rsplit(".", 1)[0])
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "num_classes"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise BnnError(
            f"{key}.{unknown[0]}: not an option of loss term {name!r}; its options are: weight"
            + "".join(f", {option}" for option in sorted(accepted))
        )
    return cls(num_classes, **options)


def build_loss(spec: LossSpec, num_classes: int, key: str = "loss", model: nn.Module | None = None) -> Loss:
    """The loss of ``spec``; with ``model``, the terms that read the model are hooked into it."""
    return Loss(spec, num_classes, model, key)
