"""The results/data contract (docs/architecture.md, "Data flow"), of one of two kinds (``meta.json``'s ``kind``):

- ``tensors``: ``results/data/{dataset}/{train,val,test}.pt`` hold
  ``{"images": uint8 (N,C,H,W), "labels": int64 (N,)}``; ``source`` holds SHA-256 checksums of the source files
  (``files``) and of the decoded train/test arrays (``sha256``).
- ``streaming`` (ImageNet-size folders): the same files hold an index ``{"files": [path relative to meta's
  ``root``], "labels": int64 (N,)}``; ``source.index_sha256`` checksums each split's (path, byte size, label) list.
  ``mean``/``std`` are fixed (ImageNet) or estimated from a seeded sample of train images.

Both: ``meta.json`` holds class names, input shape, per-channel mean/std (0..1 units), split sizes and the split seed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bnn.data.datasets import dataset_info
from bnn.data.raw import ImageFiles
from bnn.data.stream import ImageFileDataset, sample_mean_std
from bnn.errors import BnnError
from bnn.io import load_torch, save_torch, write_json

SPLITS = ("train", "val", "test")
FORMAT = "bnn-data/1"
KINDS = ("tensors", "streaming")  # meta.json's kind; one written before streaming existed holds tensors
MEAN_STD_SAMPLE = 512  # train images decoded to estimate a streamed dataset's mean/std


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


def prepare(
    dataset: str,
    out_dir: str | Path,
    data_root: str | None = None,
    split_seed: int = 0,
    val_size: float | int = 0.15,
    options: dict | None = None,
) -> dict:
    """Write the three splits and meta.json for ``dataset`` into ``out_dir``; returns the meta.
    ``options`` are the dataset's ``dataset_options`` (their ``val_size`` overrides ``val_size``)."""
    options = options or {}
    info = dataset_info(dataset, options)
    raw = info.load(data_root, split_seed, options)
    val_size = options.get("val_size", val_size)
    if isinstance(raw, ImageFiles):
        return _prepare_index(raw, Path(out_dir), dataset, info.shape, split_seed, val_size)
    tr_x, va_x, tr_y, va_y = _holdout(raw.train_images, raw.train_labels, val_size, split_seed)
    out = Path(out_dir)
    splits = {"train": (tr_x, tr_y), "val": (va_x, va_y), "test": (raw.test_images, raw.test_labels)}
    for name, (x, y) in splits.items():
        save_torch(
            out / f"{name}.pt",
            {"images": torch.from_numpy(np.ascontiguousarray(x)), "labels": torch.from_numpy(np.ascontiguousarray(y))},
        )
    pixels = tr_x.astype(np.float64) / 255.0
    meta = _meta(
        dataset,
        "tensors",
        raw.classes,
        list(tr_x.shape[1:]),
        pixels.mean(axis=(0, 2, 3)).round(6).tolist(),
        pixels.std(axis=(0, 2, 3)).round(6).tolist(),
        splits,
        split_seed,
        val_size,
    )
    meta["source"] = {
        **raw.source,
        "sha256": {
            "train": _checksum(raw.train_images, raw.train_labels),
            "test": _checksum(raw.test_images, raw.test_labels),
        },
    }
    write_json(out / "meta.json", meta)
    return meta


def _meta(
    dataset: str,
    kind: str,
    classes: list[str],
    shape: list[int],
    mean: list[float],
    std: list[float],
    splits: dict,
    split_seed: int,
    val_size: float | int,
) -> dict:
    return {
        "format": FORMAT,
        "dataset": dataset,
        "kind": kind,
        "classes": classes,
        "num_classes": len(classes),
        "shape": shape,
        "mean": mean,
        "std": std,
        "splits": {name: int(len(y)) for name, (_, y) in splits.items()},
        "split_seed": split_seed,
        "val_size": val_size,
    }


def _prepare_index(
    raw: ImageFiles, out: Path, dataset: str, shape: tuple[int, int, int], split_seed: int, val_size: float | int
) -> dict:
    """The streaming contract: per-split file indexes (train minus the hold-out, hold-out, test) + meta.json."""
    rows = np.arange(len(raw.train_files))
    tr, va = (np.sort(part) for part in _holdout(rows, raw.train_labels, val_size, split_seed)[:2])
    splits = {
        "train": ([raw.train_files[i] for i in tr], raw.train_labels[tr]),
        "val": ([raw.train_files[i] for i in va], raw.train_labels[va]),
        "test": (raw.test_files, raw.test_labels),
    }
    for name, (files, labels) in splits.items():
        save_torch(out / f"{name}.pt", {"files": files, "labels": torch.from_numpy(np.ascontiguousarray(labels))})
    mean, std = raw.mean, raw.std
    if mean is None:
        train = ImageFileDataset(raw.root, *splits["train"], size=shape[1], channels=shape[0])
        mean, std = sample_mean_std(train, MEAN_STD_SAMPLE, split_seed)
    meta = {
        **_meta(dataset, "streaming", raw.classes, list(shape), mean, std, splits, split_seed, val_size),
        "root": str(raw.root),
        "source": raw.source,
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
    meta.setdefault("kind", KINDS[0])
    if meta["kind"] not in KINDS:
        raise BnnError(
            f"data: {path} has kind {meta['kind']!r}, expected one of {', '.join(KINDS)}; re-run bnn prepare"
        )
    return meta


def load_split(data_dir: str | Path, split: str) -> Split:
    data = load_torch(Path(data_dir) / f"{split}.pt", what=f"{split} split")
    return Split(images=data["images"], labels=data["labels"])


def load_index(data_dir: str | Path, meta: dict, split: str) -> ImageFileDataset:
    """A streamed split as a dataset of its files (decoded on access)."""
    data = load_torch(Path(data_dir) / f"{split}.pt", what=f"{split} split index")
    return ImageFileDataset(meta["root"], data["files"], data["labels"], meta["shape"][1], meta["shape"][0])
