"""One training epoch: forward, loss, backward, optimizer step per batch, and nothing the host waits for.

Losses and correct counts accumulate on the device; the host reads them when progress is shown and once at
the end of the epoch. A non-finite loss is remembered (its batch and value) on the device and stops the stage
at the next read with one line naming the stage, epoch and batch; the stage's last good epoch stays in
``resume.pt`` because the failing epoch is never saved.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bnn.errors import BnnError
from bnn.train.parts import StageParts
from bnn.train.progress import EpochProgress

NO_BATCH = torch.iinfo(torch.long).max


@dataclass
class EpochTotals:
    """Device sums of one epoch: loss x images (float64), correct top-1, the first non-finite batch and its loss."""

    loss_sum: torch.Tensor
    correct: torch.Tensor
    first_bad: torch.Tensor
    bad_loss: torch.Tensor
    images: int = 0

    @classmethod
    def zeros(cls, device: torch.device) -> EpochTotals:
        return cls(
            torch.zeros((), dtype=torch.float64, device=device),
            torch.zeros((), dtype=torch.long, device=device),
            torch.full((), NO_BATCH, dtype=torch.long, device=device),
            torch.zeros((), device=device),
        )

    def add(self, batch: int, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        self.loss_sum += loss.double() * len(labels)
        self.correct += (logits.argmax(1) == labels).sum()
        first = ~torch.isfinite(loss) & (self.first_bad == NO_BATCH)
        self.first_bad = torch.where(first, batch, self.first_bad)
        self.bad_loss = torch.where(first, loss.float(), self.bad_loss)
        self.images += len(labels)

    def check_finite(self, where: str) -> None:
        batch = int(self.first_bad)
        if batch != NO_BATCH:
            raise BnnError(
                f"stage {where} batch {batch}: non-finite loss ({float(self.bad_loss)}); the last completed "
                "epoch is kept in resume.pt; lower optimizer.lr or check the data"
            )

    def means(self) -> tuple[float, float]:
        loss_sum, correct = torch.stack([self.loss_sum, self.correct.double()]).tolist()
        return loss_sum / self.images, 100.0 * correct / self.images


def train_epoch(parts: StageParts, epoch: int) -> tuple[float, float]:
    """One pass over the training split; returns mean loss and top-1 (%)."""
    spec, where = parts.spec, f"{parts.spec.run.label} epoch {epoch}"
    parts.forward.train()
    totals = EpochTotals.zeros(parts.device)
    interval = spec.progress.interval if parts.ranks.is_main else 0
    progress = EpochProgress(f"{spec.run.label} epoch {epoch + 1}/{spec.epochs}", len(parts.train), interval)
    for batch, (x, y) in enumerate(parts.train):
        logits = parts.forward(x)
        teacher_logits = None
        if parts.teacher is not None:
            with torch.no_grad():
                teacher_logits = parts.teacher(x)
        loss = parts.loss(logits, y, teacher_logits)
        parts.optimizers.zero_grad()
        loss.backward()
        parts.optimizers.step()
        for callback in parts.callbacks:
            callback.on_step_end()
        totals.add(batch, loss.detach(), logits.detach(), y)
        if progress.update(batch, totals.images, lambda: float(totals.loss_sum) / totals.images):
            totals.check_finite(where)
    progress.close()
    totals.check_finite(where)
    return totals.means()
