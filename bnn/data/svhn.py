"""SVHN (cropped digits): torchvision's ``train_32x32.mat`` and ``test_32x32.mat`` under data_root, read
with scipy (torchvision's md5 check would refuse re-made files); downloaded by torchvision when missing
and online. Label 10 in the files is the digit 0, as in torchvision."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bnn.data.raw import RawDataset, as_uint8, describe_files, download, find_folder, missing

FILES = ("train_32x32.mat", "test_32x32.mat")
EXPECTED = " and ".join(FILES)


def _read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from scipy.io import loadmat

    mat = loadmat(path)
    images = as_uint8(np.transpose(mat["X"], (3, 2, 0, 1)))  # (H, W, C, N) -> (N, C, H, W)
    return images, mat["y"].astype(np.int64).reshape(-1) % 10


def _has_all(folder: Path) -> bool:
    return all((folder / name).is_file() for name in FILES)


def load_svhn(data_root: str | None, split_seed: int, options: dict) -> RawDataset:
    folders = ["", "svhn", "SVHN"]
    folder = find_folder(data_root, folders, _has_all)
    if folder is None and options.get("download", True):
        import torchvision

        def fetch() -> None:
            for split in ("train", "test"):
                torchvision.datasets.SVHN(data_root, split=split, download=True)

        download("svhn", fetch, EXPECTED, data_root)
        folder = find_folder(data_root, folders, _has_all)
    if folder is None:
        raise missing("svhn", EXPECTED, data_root)
    files = [folder / name for name in FILES]
    (tr_x, tr_y), (te_x, te_y) = (_read(f) for f in files)
    return RawDataset(tr_x, tr_y, te_x, te_y, classes=[str(d) for d in range(10)], source=describe_files(files))
