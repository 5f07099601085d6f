"""In-memory loader: each uint8 split is one tensor on the training device (docs/architecture.md, "Speed principles").

Batches are index slices of that tensor, normalised on the device; shuffling uses a generator seeded
from (seed, epoch), so an epoch's order is reproducible on its own (for resuming). No per-sample
Python and no PIL in the training loop. The train loader may augment each batch on the device
(``bnn.data.augment``, docs/methods.md §0.7) with a generator seeded from the same (seed, epoch).
With ``shard=(rank, world)`` (a distributed stage) it yields only that rank's contiguous
``batch_size / world`` slice of every batch of the same order (``bnn.train.distributed``).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from bnn.data.augment import Augment
from bnn.data.contract import Split
from bnn.data.order import batch_count, epoch_order, epoch_seed, rank_slice


class TensorLoader:
    def __init__(
        self,
        split: Split,
        batch_size: int,
        mean: list[float],
        std: list[float],
        device: torch.device,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        augment: Augment | None = None,
        shard: tuple[int, int] = (0, 1),
    ):
        self.images = split.images.to(device)
        self.labels = split.labels.to(device)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last and len(split) > batch_size
        self.seed = seed
        self.epoch = 0
        self.augment = augment or Augment()
        self.mine = rank_slice(len(split), batch_size, self.drop_last, shard)
        shape = (1, -1, 1, 1)
        self.mean = torch.tensor(mean, device=device).view(shape)
        self.std = torch.tensor(std, device=device).view(shape)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return batch_count(len(self.labels), self.batch_size, self.drop_last)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.labels)
        device = self.labels.device
        order = epoch_order(n, self.shuffle, self.seed, self.epoch).to(device)
        generator = (
            torch.Generator(device=device).manual_seed(epoch_seed(self.seed, self.epoch)) if self.augment else None
        )
        for i in range(len(self)):
            index = order[i * self.batch_size : (i + 1) * self.batch_size]
            if generator is None:
                x = self.images[index[self.mine]].float().div_(255.0)
            else:  # augment the whole batch, then slice: each image gets its one-process crop and flip
                x = self.augment(self.images[index].float().div_(255.0), generator)[self.mine]
            yield (x - self.mean) / self.std, self.labels[index[self.mine]]
