"""The order of an epoch's batches, shared by the in-memory and the streaming loader: a permutation seeded by
(seed, epoch), so an epoch's order is reproducible on its own (for resuming)."""

from __future__ import annotations

import torch


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
