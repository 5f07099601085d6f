"""ImageFolder data: ``train/<class>/*`` and ``test/<class>/*`` (or ``val/<class>/*``).

In memory (default): a folder or a ``.tar.gz`` of one, read without unpacking (``bnn.data.archive``) and decoded
with PIL at prepare time only (the training loop never sees PIL); images are resized to ``size`` x ``size`` when
they differ. Streamed (``stream: true``, and ImageNet): a folder is only indexed (paths and labels,
``index_image_folder``); ``bnn.data.stream`` decodes it batch by batch during training. Class names are the
sorted ``train`` sub-folders (torchvision's ImageFolder order)."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from bnn.data.archive import members
from bnn.data.raw import ImageFiles, RawDataset, describe_source, missing, under_root
from bnn.errors import BnnError

SPLITS = ("train", "val", "test")
EXPECTED = "train/<class>/* and test/<class>/* (or val/<class>/*), as a folder or a .tar.gz of it"


def find_image_folder(data_root: str | None, name: str) -> Path | None:
    """``data_root/name.tar.gz``, ``data_root/name/name.tar.gz`` or the folder ``data_root/name``."""
    if not data_root:
        return None
    root = Path(data_root)
    for path in (root / f"{name}.tar.gz", root / name / f"{name}.tar.gz"):
        if path.is_file():
            return path
    folder = root / name
    return folder if (folder / "train").is_dir() else None


def _split_entry(name: str) -> tuple[str, str] | None:
    """(split, class) of an image path ``[prefix/]split/class/file``, or None for anything else."""
    parts = PurePosixPath(name).parts
    if len(parts) >= 3 and parts[-3] in SPLITS and not parts[-1].startswith("."):
        return parts[-3], parts[-2]
    return None


def decode(data: bytes, size: int, mode: str, name: str) -> np.ndarray:
    """An encoded image as uint8 (C, size, size), resized (bilinear) when its size differs."""
    try:
        image = Image.open(io.BytesIO(data)).convert(mode)
    except OSError as error:
        raise BnnError(f"datasets: {name} is not a readable image ({error})") from None
    if image.size != (size, size):
        image = image.resize((size, size), Image.BILINEAR)
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def image_mode(channels: int, key: str) -> str:
    if channels not in (1, 3):
        raise BnnError(f"{key}.channels: {channels!r} must be 1 or 3")
    return "L" if channels == 1 else "RGB"


def _labels(names: dict[str, list[str]], path: Path, num_classes: int | None, dataset: str):
    """(test split name, classes, labels per split) from the class name of every image, checked."""
    test = "test" if names["test"] else "val"
    classes = sorted(set(names["train"]))
    if not classes or not names[test]:
        raise missing(str(path), EXPECTED, str(path.parent))
    unknown = sorted(set(names[test]) - set(classes))
    if unknown:
        raise BnnError(
            f"datasets: {path} has {test}/{unknown[0]} but no train/{unknown[0]}; every class needs train images"
        )
    if num_classes is not None and len(classes) != num_classes:
        raise BnnError(
            f"dataset_options.{dataset}.num_classes: {num_classes} but {path} has {len(classes)} "
            f"classes under train/; set num_classes: {len(classes)}"
        )
    index = {c: i for i, c in enumerate(classes)}
    return test, classes, {s: np.array([index[c] for c in names[s]], dtype=np.int64) for s in ("train", test)}


def read_image_folder(path: Path, size: int, channels: int, num_classes: int | None = None) -> RawDataset:
    """Decode every image of an ImageFolder tree into uint8 (N, C, size, size) arrays."""
    mode = image_mode(channels, "dataset_options.image_folder")
    images: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    names: dict[str, list[str]] = {s: [] for s in SPLITS}
    for name, data in members(path, lambda n: _split_entry(n) is not None):
        split, cls = _split_entry(name)
        images[split].append(decode(data, size, mode, f"{path}/{name}"))
        names[split].append(cls)
    test, classes, labels = _labels(names, path, num_classes, "image_folder")
    return RawDataset(
        np.stack(images["train"]),
        labels["train"],
        np.stack(images[test]),
        labels[test],
        classes=classes,
        source={**describe_source(path), "test_split": test},
    )


def _listing_sha256(files: list[str], sizes: list[int], labels: np.ndarray) -> str:
    """SHA-256 of a split's index (path, byte size, label per image): the source checksum of a streamed split
    (hashing every image of ImageNet would read 150 GB at each prepare)."""
    lines = "".join(f"{f}\t{s}\t{y}\n" for f, s, y in zip(files, sizes, labels.tolist()))
    return hashlib.sha256(lines.encode()).hexdigest()


def index_image_folder(path: Path, num_classes: int | None, dataset: str) -> ImageFiles:
    """Index (without decoding) the images of an ImageFolder *folder*: sorted ``split/class/file`` paths."""
    if not path.is_dir():
        raise BnnError(
            f"dataset_options.{dataset}.path: {path} is not a folder; a streamed dataset is read "
            "at random, so unpack the archive (or set stream: false for image_folder)"
        )
    files: dict[str, list[str]] = {s: [] for s in SPLITS}
    sizes: dict[str, list[int]] = {s: [] for s in SPLITS}
    names: dict[str, list[str]] = {s: [] for s in SPLITS}
    for split in SPLITS:
        for cls in sorted(e.name for e in os.scandir(path / split) if e.is_dir()) if (path / split).is_dir() else []:
            for entry in sorted(os.scandir(path / split / cls), key=lambda e: e.name):
                if entry.is_file() and not entry.name.startswith("."):
                    files[split].append(f"{split}/{cls}/{entry.name}")
                    sizes[split].append(entry.stat().st_size)
                    names[split].append(cls)
    test, classes, labels = _labels(names, path, num_classes, dataset)
    checksums = {
        "train": _listing_sha256(files["train"], sizes["train"], labels["train"]),
        "test": _listing_sha256(files[test], sizes[test], labels[test]),
    }
    return ImageFiles(
        path.resolve(),
        files["train"],
        labels["train"],
        files[test],
        labels[test],
        classes,
        source={"folder": str(path.resolve()), "test_split": test, "index_sha256": checksums},
    )


def load_image_folder(data_root: str | None, split_seed: int, options: dict) -> RawDataset | ImageFiles:
    """``dataset_options.image_folder.path`` (relative paths are under data_root); ``stream: true`` indexes it."""
    path = under_root(data_root, options["path"])
    if not path.exists():
        raise missing(
            "image_folder", f"{options['path']} ({EXPECTED})", data_root, also=", or dataset_options.image_folder.path:"
        )
    if options.get("stream", False):
        image_mode(int(options.get("channels", 3)), "dataset_options.image_folder")
        return index_image_folder(path, int(options["num_classes"]), "image_folder")
    return read_image_folder(path, int(options["size"]), int(options.get("channels", 3)), int(options["num_classes"]))
