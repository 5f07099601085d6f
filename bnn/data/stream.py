"""Streaming loader for image folders too large for memory (ImageNet): a ``torch.utils.data.DataLoader`` with
``workers`` processes decodes the indexed files with PIL and applies docs/methods.md §0.7's transforms per image:
RandomResizedCrop(size, scale 0.08..1) + horizontal flip for training, Resize(size·256/224) + CenterCrop(size)
for evaluation. Batches travel as uint8 (pinned on CUDA) and are normalised on the device.

Same interface as ``TensorLoader`` (``set_epoch``, ``len``, iteration yields normalised (x, y) on the device),
so the one training loop serves both. The batch sampler runs in the main process and hands every worker
(index, sample seed) pairs: the order comes from (seed, epoch) as in ``TensorLoader``, and each image's crop and
flip from its own seed, so the batches do not depend on the number of workers."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from bnn.data.order import batch_count, epoch_order, epoch_seed, rank_slice

SCALE = (0.08, 1.0)  # RandomResizedCrop's defaults, as ADB ImageNet (docs/methods.md §0.7)
RATIO = (3 / 4, 4 / 3)


def eval_resize(size: int) -> int:
    """The shorter side before the centre crop: 256 for 224 (docs/methods.md §0.7), in proportion otherwise."""
    return round(size * 256 / 224)


class ImageFileDataset(Dataset):
    """Images ``root/files[i]`` with ``labels[i]``; an item is ``(index, seed)``: seed None means the eval
    transform, else the training crop and flip drawn from that seed. Returns (uint8 (C, size, size), label)."""

    def __init__(
        self, root: str | Path, files: list[str], labels: torch.Tensor | np.ndarray, size: int, channels: int = 3
    ):
        self.root = Path(root)
        self.files = files
        self.labels = labels.tolist()
        self.size = size
        self.mode = "L" if channels == 1 else "RGB"

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, item: tuple[int, int | None]) -> tuple[torch.Tensor, int]:
        # torchvision only where an image is decoded: importing it costs seconds at every job start
        from torchvision import transforms
        from torchvision.transforms import functional as TF

        index, seed = item
        with Image.open(self.root / self.files[index]) as file:
            image = file.convert(self.mode)
        if seed is None:
            image = TF.center_crop(TF.resize(image, eval_resize(self.size)), self.size)
        else:
            with torch.random.fork_rng(devices=[]):  # torchvision draws from the global RNG; keep the caller's
                torch.manual_seed(seed)
                top, left, height, width = transforms.RandomResizedCrop.get_params(image, SCALE, RATIO)
                flip = bool(torch.rand(()) < 0.5)
            image = TF.resized_crop(image, top, left, height, width, [self.size, self.size])
            if flip:
                image = TF.hflip(image)
        return TF.pil_to_tensor(image), self.labels[index]


class EpochBatches:
    """Batch sampler: lists of (index, sample seed) in the (seed, epoch) order; sample seeds only when training."""

    def __init__(
        self,
        n: int,
        batch_size: int,
        shuffle: bool,
        drop_last: bool,
        seed: int,
        train: bool,
        shard: tuple[int, int] = (0, 1),
    ):
        self.n, self.batch_size, self.shuffle, self.seed, self.train = n, batch_size, shuffle, seed, train
        self.drop_last = drop_last and n > batch_size
        self.mine = rank_slice(n, batch_size, self.drop_last, shard)
        self.epoch = 0

    def __len__(self) -> int:
        return batch_count(self.n, self.batch_size, self.drop_last)

    def __iter__(self) -> Iterator[list[tuple[int, int | None]]]:
        order = epoch_order(self.n, self.shuffle, self.seed, self.epoch).tolist()
        base = epoch_seed(self.seed, self.epoch) * self.n
        for i in range(len(self)):
            batch = order[i * self.batch_size : (i + 1) * self.batch_size][self.mine]  # per-sample seeds: slice freely
            yield [(index, (base + index) % 2**63 if self.train else None) for index in batch]


def worker_context(workers: int) -> str | None:
    """How worker processes start: from a fork server on Linux, never by forking this process, which may hold
    threads (OpenMP, OpenVINO, CUDA) that a forked child inherits in an unusable state."""
    if workers == 0:
        return None
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else None


class StreamLoader:
    """DataLoader over an indexed split with the ``TensorLoader`` interface (see the module docstring)."""

    def __init__(
        self,
        dataset: ImageFileDataset,
        batch_size: int,
        mean: list[float],
        std: list[float],
        device: torch.device,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        train: bool = False,
        workers: int = 0,
        shard: tuple[int, int] = (0, 1),
    ):
        self.batches = EpochBatches(len(dataset), batch_size, shuffle, drop_last, seed, train, shard)
        self.device = device
        self.loader = DataLoader(
            dataset,
            batch_sampler=self.batches,
            num_workers=workers,
            pin_memory=device.type == "cuda",
            persistent_workers=workers > 0,
            multiprocessing_context=worker_context(workers),
        )
        shape = (1, -1, 1, 1)
        self.mean = torch.tensor(mean, device=device).view(shape)
        self.std = torch.tensor(std, device=device).view(shape)

    def set_epoch(self, epoch: int) -> None:
        self.batches.epoch = epoch

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in self.loader:
            x = x.to(self.device, non_blocking=True).float().div_(255.0)
            yield (x - self.mean) / self.std, y.to(self.device, non_blocking=True)


def sample_mean_std(dataset: ImageFileDataset, count: int, seed: int) -> tuple[list[float], list[float]]:
    """Per-channel mean/std (0..1 units) of ``count`` seeded train images under the eval transform."""
    picks = np.random.default_rng(seed).permutation(len(dataset))[:count]
    pixels = torch.stack([dataset[(int(i), None)][0] for i in picks]).double().div_(255.0)
    return pixels.mean(dim=(0, 2, 3)).round(decimals=6).tolist(), pixels.std(dim=(0, 2, 3), correction=0).round(
        decimals=6
    ).tolist()
