"""CIFAR-10 and CIFAR-100: torchvision's pickled batches under data_root (``cifar-10-batches-py``,
``cifar-100-python``), read directly (torchvision's md5 check would refuse re-made files); downloaded by
torchvision when missing and online. CIFAR-10 falls back to an ImageFolder copy (``cifar10-jpg``
folder or ``.tar.gz``) when the batches are absent. Validation hold-out 5000 (docs/methods.md §0.7)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from bnn.data.image_folder import find_image_folder, read_image_folder
from bnn.data.raw import RawDataset, as_uint8, describe_files, download, find_folder, missing

LAYOUTS = {
    "cifar10": {
        "folder": "cifar-10-batches-py",
        "train": [f"data_batch_{i}" for i in range(1, 6)],
        "test": ["test_batch"],
        "meta": "batches.meta",
        "names": "label_names",
        "labels": "labels",
        "torchvision": "CIFAR10",
        "jpg": "cifar10-jpg",
    },
    "cifar100": {
        "folder": "cifar-100-python",
        "train": ["train"],
        "test": ["test"],
        "meta": "meta",
        "names": "fine_label_names",
        "labels": "fine_labels",
        "torchvision": "CIFAR100",
        "jpg": "cifar100-jpg",
    },
}


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as stream:
        return {k.decode() if isinstance(k, bytes) else k: v for k, v in pickle.load(stream, encoding="bytes").items()}


def _batches(paths: list[Path], labels_key: str) -> tuple[np.ndarray, np.ndarray]:
    batches = [_unpickle(p) for p in paths]
    images = np.concatenate([np.asarray(b["data"], dtype=np.uint8).reshape(-1, 3, 32, 32) for b in batches])
    labels = np.concatenate([np.asarray(b[labels_key], dtype=np.int64) for b in batches])
    return as_uint8(images), labels


def cifar_loader(dataset: str):
    layout = LAYOUTS[dataset]
    names = layout["train"] + layout["test"] + [layout["meta"]]
    expected = (
        f"{layout['folder']}/{{{','.join(names)}}} (or {layout['jpg']}.tar.gz, "
        f"train/<class>/*.jpg + test/<class>/*.jpg)"
    )

    def has_all(folder: Path) -> bool:
        return all((folder / name).is_file() for name in names)

    def batches_folder(data_root: str | None) -> Path | None:
        return find_folder(data_root, [layout["folder"], f"{dataset}/{layout['folder']}"], has_all)

    def load(data_root: str | None, split_seed: int, options: dict) -> RawDataset:
        folder = batches_folder(data_root)
        if folder is None:
            jpg = find_image_folder(data_root, layout["jpg"])
            if jpg is not None:
                return read_image_folder(jpg, size=32, channels=3)
            if options.get("download", True):
                import torchvision

                download(
                    dataset,
                    lambda: getattr(torchvision.datasets, layout["torchvision"])(data_root, download=True),
                    expected,
                    data_root,
                )
                folder = batches_folder(data_root)
        if folder is None:
            raise missing(dataset, expected, data_root)
        tr_x, tr_y = _batches([folder / n for n in layout["train"]], layout["labels"])
        te_x, te_y = _batches([folder / n for n in layout["test"]], layout["labels"])
        classes = [
            c.decode() if isinstance(c, bytes) else c for c in _unpickle(folder / layout["meta"])[layout["names"]]
        ]
        return RawDataset(
            tr_x, tr_y, te_x, te_y, classes=classes, source=describe_files([folder / name for name in names])
        )

    return load


load_cifar10 = cifar_loader("cifar10")
load_cifar100 = cifar_loader("cifar100")
