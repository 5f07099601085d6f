"""The one place that picks a split's loader from meta.json's ``kind``: ``TensorLoader`` for the in-memory
contract, ``StreamLoader`` (a DataLoader with ``workers`` processes) for a streamed folder. Both yield
normalised (x, y) batches on ``device`` and shuffle by (seed, epoch) when training."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from bnn.data.augment import Augment
from bnn.data.contract import load_index, load_split
from bnn.data.loader import TensorLoader
from bnn.data.stream import StreamLoader
from bnn.errors import BnnError

DEFAULT_WORKERS = min(8, os.cpu_count() or 1)  # the ``workers`` stage setting's default


def check_stream_settings(dataset: str, streams: bool, augment: Augment, workers, key: str) -> None:
    """``workers`` is an integer >= 0; a streamed dataset takes no batched ``augment`` (it has §0.7's own)."""
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 0):
        raise BnnError(
            f"{key}.workers: {workers!r} must be an integer >= 0 (DataLoader processes of a streamed dataset)"
        )
    if streams and augment:
        raise BnnError(
            f"{key}.augment: {dataset} is streamed and augmented per image as docs/methods.md §0.7 "
            "(RandomResizedCrop + flip); set augment: {crop: 0, flip: false} for it (a recipe's "
            "datasets.<name> or models.<name> override)"
        )


def make_loader(
    data_dir: str | Path,
    meta: dict,
    split: str,
    batch_size: int,
    device: torch.device,
    train: bool = False,
    seed: int = 0,
    augment: Augment | None = None,
    workers: int | None = None,
    shard: tuple[int, int] = (0, 1),
) -> TensorLoader | StreamLoader:
    """A loader of ``split``; ``train``: shuffled, last partial batch dropped, augmented; ``shard`` (rank, world):
    a rank's slice of every batch (a distributed stage)."""
    streams = meta["kind"] == "streaming"  # read_meta checked it
    check_stream_settings(meta["dataset"], streams, augment or Augment(), workers, "spec")
    if not streams:
        return TensorLoader(
            load_split(data_dir, split),
            batch_size,
            meta["mean"],
            meta["std"],
            device,
            shuffle=train,
            drop_last=train,
            seed=seed,
            augment=augment if train else None,
            shard=shard,
        )
    return StreamLoader(
        load_index(data_dir, meta, split),
        batch_size,
        meta["mean"],
        meta["std"],
        device,
        shuffle=train,
        drop_last=train,
        seed=seed,
        train=train,
        workers=DEFAULT_WORKERS if workers is None else workers,
        shard=shard,
    )
