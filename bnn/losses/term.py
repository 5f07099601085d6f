"""A loss term: one named, weighted summand of a stage's loss (:class:`bnn.losses.Loss`), and the registry of terms.

A term is an ``nn.Module`` (its buffers are saved in ``checkpoint.pt`` and ``resume.pt``) and may follow the
loop's progress through :class:`bnn.train.callbacks.Callbacks`. It is built with the data's class count and its
options from the config (``{name: {weight: w, option: value}}``), and computes its value from a :class:`Step`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import torch
from torch import nn

from bnn.registry import Registry
from bnn.train.callbacks import Callbacks

if TYPE_CHECKING:
    from bnn.skd.shadow import ShadowBranch


@dataclass
class Step:
    """What the terms of one training batch see: the logits, labels, the teacher's logits (for a term that
    ``needs_teacher``) and the shadow branch of the model (for a term that ``needs_shadow``, SKD-BNN §6.2)."""

    logits: torch.Tensor
    labels: torch.Tensor
    teacher_logits: torch.Tensor | None = None
    shadow: ShadowBranch | None = None
    _pairs: list | None = field(default=None, repr=False)

    def pairs(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(binary feature, real feature) per binary layer, from one shadow pass per batch (§6.2)."""
        if self._pairs is None:
            self._pairs = self.shadow.pairs()
        return self._pairs


class Term(nn.Module, Callbacks):
    """Base of the loss terms: ``forward(step) -> scalar``."""

    needs_teacher: ClassVar[bool] = False
    needs_shadow: ClassVar[bool] = False

    def __init__(self, num_classes: int):
        super().__init__()
        self.num_classes = num_classes

    def forward(self, step: Step) -> torch.Tensor:
        raise NotImplementedError


TERMS: Registry[type[Term]] = Registry("loss term")
