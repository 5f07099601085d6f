"""One stage as several processes with DistributedDataParallel (issue 6): the ``distributed`` setting and
what a rank does differently inside ``bnn.train.run_stage``.

``distributed: {nproc: N, backend: auto|nccl|gloo}``. ``bnn.train.launch`` starts N ranks under torch's elastic
launcher; each joins the process group (``process_group``) and runs the same ``run_stage``, which asks
``Ranks.current()`` how to take part:

- The global batch is ``batch_size``; each rank takes the contiguous ``batch_size / N`` slice of every
  batch of the single-process (seed, epoch) order (``TensorLoader(shard=...)``), and DDP averages the
  gradients. Every loss here is a batch mean and the train loader drops the last partial batch, so
  each step's gradient is the single-process one up to float summation order.
- Batch statistics: ``SyncBatchNorm`` on CUDA. PyTorch's SyncBatchNorm needs a GPU, so on CPU (gloo)
  BatchNorm layers normalise each rank's slice with its own statistics (logged; not equal to one process).
- Every rank validates on the whole validation split (same numbers on every rank); rank 0 alone writes
  files and prints. Train loss and accuracy are averaged over ranks (equal slice sizes).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.distributed as dist
from torch import nn

from bnn.errors import BnnError

if TYPE_CHECKING:
    from bnn.config.spec import Distributed, StageSpec


def launched() -> bool:
    """True in a process started by torch's elastic launcher (torchrun sets these)."""
    return "WORLD_SIZE" in os.environ and "LOCAL_RANK" in os.environ


@contextmanager
def process_group(setting: Distributed, device: torch.device) -> Iterator[None]:
    """Join the launcher's process group (env:// rendezvous) for the stage; CUDA: one device per local rank."""
    local_rank = int(os.environ["LOCAL_RANK"])
    backend = setting.backend if setting.backend != "auto" else ("nccl" if device.type == "cuda" else "gloo")
    device_id = None
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
        device_id = torch.device("cuda", local_rank)
    dist.init_process_group(backend, device_id=device_id)
    try:
        yield
    finally:
        dist.destroy_process_group()


@dataclass(frozen=True)
class Ranks:
    """This process's part in a stage: rank 0 of 1 unless a process group is initialized."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @classmethod
    def current(cls) -> Ranks:
        if dist.is_available() and dist.is_initialized():
            return cls(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
        return cls()

    @classmethod
    def of_stage(cls, spec: StageSpec) -> Ranks:
        """This process's ranks, which must be the ``distributed.nproc`` the spec asks for."""
        nproc, ranks = spec.distributed.nproc, cls.current()
        if ranks.world != nproc:
            raise BnnError(
                f"spec.distributed.nproc: {nproc}, but this process is one of {ranks.world}; run the stage "
                "with bnn train, which launches nproc processes itself"
            )
        return ranks

    @property
    def is_main(self) -> bool:
        """The rank that writes files and prints."""
        return self.rank == 0

    @property
    def shard(self) -> tuple[int, int]:
        """(rank, world) for ``TensorLoader``: this rank's slice of every global batch."""
        return self.rank, self.world

    def device(self, device: torch.device) -> torch.device:
        """The rank's own GPU (its local rank, set current by ``process_group``) when the stage runs on CUDA."""
        return torch.device("cuda", self.local_rank) if self.world > 1 and device.type == "cuda" else device

    def prepare(self, model: nn.Module, device: torch.device) -> nn.Module:
        """SyncBatchNorm on CUDA, so BN normalises with the global batch's statistics."""
        if self.world == 1 or not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
            return model
        if device.type == "cuda":
            return nn.SyncBatchNorm.convert_sync_batchnorm(model)
        if self.is_main:
            print(
                "note: BatchNorm statistics are per process on CPU (SyncBatchNorm needs CUDA); this stage is not "
                "equal to a one-process run",
                flush=True,
            )
        return model

    def wrap(self, model: nn.Module, spec: StageSpec, device: torch.device) -> nn.Module:
        """The module to train: ``model`` in DDP when distributed (memory format set before DDP sees it)."""
        if self.world == 1:
            return model
        if spec.channels_last:
            model = model.to(memory_format=torch.channels_last)
        return nn.parallel.DistributedDataParallel(
            model, device_ids=[self.local_rank] if device.type == "cuda" else None
        )

    def mean(self, *values: float) -> tuple[float, ...]:
        """The mean over ranks of each value (per-rank means over equal-sized slices give the global mean)."""
        if self.world == 1:
            return values
        device = torch.device("cuda", self.local_rank) if dist.get_backend() == "nccl" else torch.device("cpu")
        total = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(total)
        return tuple((total / self.world).tolist())

    @contextmanager
    def main_first(self) -> Iterator[None]:
        """Rank 0 runs the block before the others (it may delete a stale resume.pt they would read)."""
        if not self.is_main:
            dist.barrier()
        yield
        if self.is_main and self.world > 1:
            dist.barrier()
