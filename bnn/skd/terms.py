"""SKD-BNN's loss terms (METHODS.md §6.3-6.5): channel-spatial feature loss, soft-label bank, label cluster."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F


def unit_rows(x: torch.Tensor) -> torch.Tensor:
    """Each row over its L2 norm, the norm detached (§6.3); exact zero rows stay zero instead of NaN."""
    return x / x.norm(dim=1, keepdim=True).detach().clamp_min(torch.finfo(x.dtype).tiny)


def channel_spatial(f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """L_fm(F, G) of §6.3 for binary features F and real targets G (B x C x H x W, G detached):
    ``(||u_F - u_G||_F / C + ||v_F - v_G||_F / H^2) / B`` with u the per-sample unit channel means over
    (h, w), v the unit spatial maps averaged over channels, and one Frobenius norm over the whole batch
    (the reference's quirk). 2-D features (B x C, an MLP's) have only the channel term, u = the feature."""
    g = g.detach()
    batch, channels = f.shape[:2]
    if f.dim() == 2:
        return torch.linalg.norm(unit_rows(f) - unit_rows(g)) / channels / batch
    u = torch.linalg.norm(unit_rows(f.mean(dim=(2, 3))) - unit_rows(g.mean(dim=(2, 3)))) / channels
    v = torch.linalg.norm(unit_rows(f.mean(dim=1).flatten(1)) - unit_rows(g.mean(dim=1).flatten(1))) / f.shape[2] ** 2
    return (u + v) / batch


def label_cluster(features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """L_cluster of §6.5 (without gamma): mean over the batch of (1 - cos(f_i, m_{y_i})) / 2, where m_c is
    the detached mean feature of the batch's samples of class c (all of them, correct or not)."""
    f = features.flatten(1)
    sums = torch.zeros(int(labels.max()) + 1, f.shape[1], dtype=f.dtype, device=f.device)
    sums.index_add_(0, labels, f.detach())
    counts = torch.bincount(labels, minlength=len(sums)).to(f.dtype)
    centroids = sums[labels] / counts[labels, None]
    return ((1 - F.cosine_similarity(f, centroids, dim=1)) / 2).mean()


class LabelBank:
    """Soft-label bank (§6.4): per class, the mean logits of the training samples it classified correctly
    in the previous epoch ("dynamic filtering", top-1), replaced at the end of every epoch (not an EMA).

    The bank starts empty, so the label term is zero in epoch 0. Guard for the reference's NaN: a class
    with no correct sample in an epoch keeps its previous row; a class that never had one is skipped in
    the loss (its samples add nothing, the KL is still divided by the whole batch).
    """

    def __init__(self):
        self.bank: torch.Tensor | None = None  # K x K mean logits
        self.valid: torch.Tensor | None = None  # K, whether the row was ever filled
        self.sums: torch.Tensor | None = None
        self.counts: torch.Tensor | None = None

    def observe(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """Accumulate the correctly classified samples of one training batch (logits before the step)."""
        logits = logits.detach()
        classes = logits.shape[1]
        if self.sums is None:
            self.sums = torch.zeros(classes, classes, dtype=logits.dtype, device=logits.device)
            self.counts = torch.zeros(classes, dtype=torch.long, device=logits.device)
        correct = logits.argmax(1) == labels
        self.sums.index_add_(0, labels[correct], logits[correct])
        self.counts += torch.bincount(labels[correct], minlength=classes)

    def end_epoch(self) -> None:
        """Replace the rows of the classes seen correct this epoch by their mean logits."""
        if self.sums is None:
            return
        if dist.is_available() and dist.is_initialized():  # a distributed stage: every rank's samples (bnn.distributed)
            dist.all_reduce(self.sums)
            dist.all_reduce(self.counts)
        seen = self.counts > 0
        if self.bank is None:
            self.bank, self.valid = torch.zeros_like(self.sums), torch.zeros_like(seen)
        self.bank, self.valid = self.bank.to(seen.device), self.valid.to(seen.device)
        self.bank[seen] = self.sums[seen] / self.counts[seen, None]
        self.valid |= seen
        self.sums = self.counts = None

    def kl(self, logits: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
        """KL(softmax(Q[y]/T) || softmax(z/T)) summed over the samples with a bank row, over the batch size."""
        if self.bank is None:
            return logits.new_zeros(())
        bank, valid = self.bank.to(logits.device), self.valid.to(logits.device)
        keep = valid[labels]
        target = F.softmax(bank[labels[keep]] / temperature, dim=1)
        log_student = F.log_softmax(logits[keep] / temperature, dim=1)
        return F.kl_div(log_student, target, reduction="sum") / len(labels)

    def state_dict(self) -> dict:
        return {} if self.bank is None else {"bank": self.bank.cpu(), "valid": self.valid.cpu()}

    def load_state_dict(self, state: dict) -> None:
        self.bank, self.valid = state.get("bank"), state.get("valid")
