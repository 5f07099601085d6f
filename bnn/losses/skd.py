"""SKD-BNN's loss terms (docs/methods.md §6.3-6.6) as registered terms: ``skd_features`` (channel-spatial distillation
of the shadow branch's features), ``skd_labels`` (soft-label bank) and ``skd_cluster`` (label cluster). SKD-BNN's
total loss (§6.6) is
``{ce: 1.0, skd_features: 1.0, skd_labels: {weight: 0.05, temperature: 4.0}, skd_cluster: 0.01}``."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F

from bnn.losses.term import TERMS, Step, Term


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


@TERMS.register("skd_features")
class ChannelSpatialDistillation(Term):
    """SKD-BNN's feature term (§6.3): mean over the binary layers of L_fm(binary feature, shadow feature)."""

    needs_shadow = True

    def forward(self, step: Step) -> torch.Tensor:
        pairs = step.pairs()
        return sum(channel_spatial(f, g) for f, g in pairs) / len(pairs) if pairs else step.logits.new_zeros(())


@TERMS.register("skd_cluster")
class LabelCluster(Term):
    """SKD-BNN's label-cluster term (§6.5) on the penultimate feature (the classifier's input)."""

    needs_shadow = True

    def forward(self, step: Step) -> torch.Tensor:
        return label_cluster(step.shadow.penultimate, step.labels)


@TERMS.register("skd_labels")
class SoftLabelBank(Term):
    """SKD-BNN's soft-label term (§6.4): T²·KL(softmax(Q[y]/T) ‖ softmax(z/T)) with the bank Q of the previous
    epoch: per class, the mean logits of the training samples it classified correctly ("dynamic filtering",
    top-1), replaced at the end of every epoch (not an EMA).

    Buffers (in the checkpoint and resume.pt): ``bank`` (K x K), ``valid`` (K: the row was ever filled), and the
    epoch's ``sums``/``counts``. The bank starts empty, so the term is zero in epoch 0. Guard for the reference's
    NaN: a class with no correct sample in an epoch keeps its previous row; a class that never had one is skipped
    (its samples add nothing, the KL is still divided by the whole batch).
    """

    def __init__(self, num_classes: int, temperature: float = 4.0):
        super().__init__(num_classes)
        self.temperature = temperature
        self.register_buffer("bank", torch.zeros(num_classes, num_classes))
        self.register_buffer("valid", torch.zeros(num_classes, dtype=torch.bool))
        self.register_buffer("sums", torch.zeros(num_classes, num_classes))
        self.register_buffer("counts", torch.zeros(num_classes, dtype=torch.long))

    def forward(self, step: Step) -> torch.Tensor:
        t = self.temperature
        value = t * t * self.kl(step.logits, step.labels)
        self.observe(step.logits, step.labels)
        return value

    def kl(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """KL(softmax(Q[y]/T) || softmax(z/T)) summed over the samples with a bank row, over the batch size."""
        keep = self.valid[labels]
        target = F.softmax(self.bank[labels[keep]] / self.temperature, dim=1)
        log_student = F.log_softmax(logits[keep] / self.temperature, dim=1)
        return F.kl_div(log_student, target, reduction="sum") / len(labels)

    @torch.no_grad()
    def observe(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """Accumulate the correctly classified samples of one training batch (logits before the step)."""
        correct = logits.argmax(1) == labels
        self.sums.index_add_(0, labels[correct], logits[correct].to(self.sums.dtype))
        self.counts += torch.bincount(labels[correct], minlength=self.num_classes)

    @torch.no_grad()
    def on_epoch_end(self, epoch: int) -> None:
        """Replace the rows of the classes seen correct this epoch by their mean logits."""
        if dist.is_available() and dist.is_initialized():  # a distributed stage: every rank's samples
            dist.all_reduce(self.sums)
            dist.all_reduce(self.counts)
        seen = self.counts > 0
        self.bank[seen] = self.sums[seen] / self.counts[seen, None]
        self.valid |= seen
        self.sums.zero_()
        self.counts.zero_()
