"""What the training loop calls besides forward, loss and optimizer step: one protocol for every part.

A part of a stage that must hear of the loop's progress (an estimator with a per-epoch schedule, a loss
term that gathers statistics over an epoch, an optimizer that resets state each epoch) subclasses
:class:`Callbacks` and overrides what it needs. The loop finds them with :func:`find_callbacks` among the
modules of the model and the loss and among the optimizers, and calls, for each epoch ``e`` of ``E``:

``on_epoch_start(e, E)``, then per training batch the step (forward, loss, backward, optimizer step)
followed by ``on_step_end()``, then ``on_epoch_end(e)`` after the last batch (before validation and
before the resume state is saved).

State that must survive a resume lives in module buffers or parameters (so it is in ``checkpoint.pt``
and ``resume.pt``), or in an optimizer's ``state_dict``.
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn


class Callbacks:
    """No-op defaults of the loop's calls; override the ones a part needs."""

    def on_epoch_start(self, epoch: int, epochs: int) -> None:
        """Before the first batch of epoch ``epoch`` (0-based) of ``epochs``."""

    def on_step_end(self) -> None:
        """After each optimizer step."""

    def on_epoch_end(self, epoch: int) -> None:
        """After the last training batch of epoch ``epoch``."""


def find_callbacks(*parts: object) -> list[Callbacks]:
    """Every :class:`Callbacks` among ``parts``: modules (searched recursively) and other objects (optimizers)."""
    found: list[Callbacks] = []
    for part in parts:
        members: Iterable[object] = part.modules() if isinstance(part, nn.Module) else [part]
        found += [member for member in members if isinstance(member, Callbacks) and member not in found]
    return found
