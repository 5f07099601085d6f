"""The results/data contract (DESIGN.md, data flow):

``results/data/{dataset}/{train,val,test}.pt`` hold ``{"images": uint8 (N,C,H,W), "labels": int64 (N,)}``
and ``meta.json`` holds class names, input shape, per-channel mean/std of train (0..1 units),
split sizes, the split seed, and the source: SHA-256 checksums of the source files (``files``) and of
the decoded train/test arrays (``sha256``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bnn.data.datasets import dataset_info
from bnn.errors import BnnError
from bnn.io import load_torch, save_torch, write_json

SPLITS = ("train", "val", "test")
FORMAT = "bnn-data/1"


@dataclass
class Split:
    images: torch.Tensor  # uint8 (N, C, H, W)
    labels: torch.Tensor  # int64 (N,)

    def __len__(self) -> int:
        return len(self.labels)


def _checksum(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _holdout(images: np.ndarray, labels: np.ndarray, val_size: float | int, seed: int):
    """Fixed, seeded, stratified validation hold-out from train: a count (int) or a fraction (< 1)."""
    size = int(val_size) if float(val_size) >= 1 else float(val_size)
    if size in (0, 0.0):
        raise BnnError("val_size: must be > 0 (a count of train images, or a fraction below 1)")
    from sklearn.model_selection import train_test_split  # only prepare needs it; keeps train/evaluate start fast

    return train_test_split(images, labels, test_size=size, stratify=labels, random_state=seed)


def prepare(dataset: str, out_dir: str | Path, data_root: str | None = None, split_seed: int = 0,
            val_size: float | int = 0.15, options: dict | None = None) -> dict:
    """Write the three splits and meta.json for ``dataset`` into ``out_dir``; returns the meta.
    ``options`` are the dataset's ``dataset_options`` (their ``val_size`` overrides ``val_size``)."""
    options = options or {}
    raw = dataset_info(dataset, options).load(data_root, split_seed, options)
    val_size = options.get("val_size", val_size)
    tr_x, va_x, tr_y, va_y = _holdout(raw.train_images, raw.train_labels, val_size, split_seed)
    out = Path(out_dir)
    splits = {"train": (tr_x, tr_y), "val": (va_x, va_y), "test": (raw.test_images, raw.test_labels)}
    for name, (x, y) in splits.items():
        save_torch(out / f"{name}.pt", {"images": torch.from_numpy(np.ascontiguousarray(x)),
                                        "labels": torch.from_numpy(np.ascontiguousarray(y))})
    pixels = tr_x.astype(np.float64) / 255.0
    meta = {
        "format": FORMAT,
        "dataset": dataset,
        "classes": raw.classes,
        "num_classes": len(raw.classes),
        "shape": list(tr_x.shape[1:]),
        "mean": pixels.mean(axis=(0, 2, 3)).round(6).tolist(),
        "std": pixels.std(axis=(0, 2, 3)).round(6).tolist(),
        "splits": {name: int(len(y)) for name, (_, y) in splits.items()},
        "split_seed": split_seed,
        "val_size": val_size,
        "source": {**raw.source,
                   "sha256": {"train": _checksum(raw.train_images, raw.train_labels),
                              "test": _checksum(raw.test_images, raw.test_labels)}},
    }
    write_json(out / "meta.json", meta)
    return meta


def read_meta(data_dir: str | Path) -> dict:
    path = Path(data_dir) / "meta.json"
    if not path.is_file():
        raise BnnError(f"data: {path} not found; run `bnn prepare` for this dataset first")
    meta = json.loads(path.read_text())
    if meta.get("format") != FORMAT:
        raise BnnError(f"data: {path} has format {meta.get('format')!r}, expected {FORMAT!r}; re-run bnn prepare")
    return meta


def load_split(data_dir: str | Path, split: str) -> Split:
    data = load_torch(Path(data_dir) / f"{split}.pt", what=f"{split} split")
    return Split(images=data["images"], labels=data["labels"])
