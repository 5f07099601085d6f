"""The order of an epoch's batches, shared by the in-memory and the streaming loader: a permutation seeded by
(seed, epoch), so an epoch's order is reproducible on its own (for resuming). A rank of a distributed stage
takes its slice of every batch of that order (``rank_slice``)."""

from __future__ import annotations

import torch

from bnn.errors import BnnError


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch's shuffle and augmentation."""
    return seed * 1_000_003 + epoch


def epoch_order(n: int, shuffle: bool, seed: int, epoch: int) -> torch.Tensor:
    """The CPU index order of one epoch: a permutation seeded by (seed, epoch), or 0..n-1."""
    if shuffle:
        return torch.randperm(n, generator=torch.Generator().manual_seed(epoch_seed(seed, epoch)))
    return torch.arange(n)


def batch_count(n: int, batch_size: int, drop_last: bool) -> int:
    return n // batch_size if drop_last else -(-n // batch_size)


def rank_slice(n: int, batch_size: int, drop_last: bool, shard: tuple[int, int]) -> slice:
    """The part of every batch that rank ``shard[0]`` of ``shard[1]`` trains on (``bnn.train.distributed``): its
    contiguous ``batch_size / world`` slice. Every batch must be full, so that all ranks get equal slices."""
    rank, world = shard
    if world > 1 and (batch_size % world or not drop_last):
        raise BnnError(
            f"batch_size: {batch_size} must be divisible by the {world} processes and smaller than the "
            f"{n} training examples, so that every process gets an equal slice of every batch"
        )
    part = batch_size // world
    return slice(rank * part, (rank + 1) * part)
