"""MNIST and Fashion-MNIST: raw IDX files (``.gz`` or uncompressed) under data_root, flat (as
LeCun distributes them) or in torchvision's ``<root>/MNIST/raw`` layout; downloaded by torchvision
when missing and online. No validation split in the files: prepare() holds 5000 out (docs/methods.md §0.7)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from bnn.data.raw import RawDataset, as_uint8, describe_files, download, find_folder, missing

STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def read_idx(path: Path) -> np.ndarray:
    """An IDX array (magic: two zero bytes, a type code, the number of dimensions; big-endian sizes)."""
    data = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    if data[:2] != b"\0\0" or data[2] not in IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=IDX_TYPES[data[2]], offset=4 + 4 * ndim).reshape(shape).copy()


def _file(folder: Path, stem: str) -> Path | None:
    return next((folder / name for name in (stem, f"{stem}.gz") if (folder / name).is_file()), None)


def idx_loader(dataset: str, torchvision_name: str, classes: list[str]):
    """A registry ``load`` for an MNIST-format dataset stored by torchvision as ``torchvision_name``."""
    expected = ", ".join(f"{stem}(.gz)" for stem in STEMS)
    folders = ["", dataset, f"{torchvision_name}/raw"]

    def has_all(folder: Path) -> bool:
        return all(_file(folder, stem) for stem in STEMS)

    def load(data_root: str | None, split_seed: int, options: dict) -> RawDataset:
        folder = find_folder(data_root, folders, has_all)
        if folder is None and options.get("download", True):
            import torchvision

            download(
                dataset,
                lambda: getattr(torchvision.datasets, torchvision_name)(data_root, download=True),
                expected,
                data_root,
            )
            folder = find_folder(data_root, folders, has_all)
        if folder is None:
            raise missing(dataset, expected, data_root)
        files = [_file(folder, stem) for stem in STEMS]
        tr_x, tr_y, te_x, te_y = (read_idx(f) for f in files)
        return RawDataset(
            as_uint8(tr_x)[:, None],
            tr_y.astype(np.int64),
            as_uint8(te_x)[:, None],
            te_y.astype(np.int64),
            classes=list(classes),
            source=describe_files(files),
        )

    return load


load_mnist = idx_loader("mnist", "MNIST", [str(d) for d in range(10)])
load_fashion_mnist = idx_loader("fashion_mnist", "FashionMNIST", FASHION_CLASSES)
