"""ImageFolder data: ``train/<class>/*`` and ``test/<class>/*`` (or ``val/<class>/*``) as a folder or a
``.tar.gz`` of one, read with ``tarfile`` without unpacking and decoded with PIL at prepare time only
(the training loop never sees PIL). Class names are the sorted ``train`` sub-folders (torchvision's
ImageFolder order); images are resized to ``size`` x ``size`` when they differ."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path, PurePosixPath
from typing import Iterator

import numpy as np
from PIL import Image

from bnn.data.raw import RawDataset, describe_files, missing
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


def _entries(path: Path) -> Iterator[tuple[str, str, str, bytes]]:
    """(split, class, file name, bytes) of every image in a folder or a .tar.gz, in sorted order."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _split_entry(p.relative_to(path).as_posix()))
        for file in files:
            yield (*_split_entry(file.relative_to(path).as_posix()), file.as_posix(), file.read_bytes())
        return
    with tarfile.open(path, "r|gz") as archive:  # one streaming pass: a gzip stream cannot seek back cheaply
        entries = [(*_split_entry(m.name), m.name, archive.extractfile(m).read())
                   for m in archive if m.isfile() and _split_entry(m.name)]
    yield from sorted(entries, key=lambda entry: entry[2])


def _decode(data: bytes, size: int, mode: str, name: str) -> np.ndarray:
    try:
        image = Image.open(io.BytesIO(data)).convert(mode)
    except OSError as error:
        raise BnnError(f"datasets: {name} is not a readable image ({error})") from None
    if image.size != (size, size):
        image = image.resize((size, size), Image.BILINEAR)
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def read_image_folder(path: Path, size: int, channels: int, num_classes: int | None = None) -> RawDataset:
    """Decode every image of an ImageFolder tree into uint8 (N, C, size, size) arrays."""
    if channels not in (1, 3):
        raise BnnError(f"dataset_options.image_folder.channels: {channels!r} must be 1 or 3")
    mode = "L" if channels == 1 else "RGB"
    images: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    names: dict[str, list[str]] = {s: [] for s in SPLITS}
    for split, cls, name, data in _entries(path):
        images[split].append(_decode(data, size, mode, name))
        names[split].append(cls)
    test = "test" if names["test"] else "val"
    classes = sorted(set(names["train"]))
    if not classes or not names[test]:
        raise missing(str(path), EXPECTED, str(path.parent))
    unknown = sorted(set(names[test]) - set(classes))
    if unknown:
        raise BnnError(f"datasets: {path} has {test}/{unknown[0]} but no train/{unknown[0]}; every class needs train images")
    if num_classes is not None and len(classes) != num_classes:
        raise BnnError(f"dataset_options.image_folder.num_classes: {num_classes} but {path} has {len(classes)} "
                       f"classes under train/; set num_classes: {len(classes)}")
    index = {c: i for i, c in enumerate(classes)}
    labels = {s: np.array([index[c] for c in names[s]], dtype=np.int64) for s in ("train", test)}
    return RawDataset(np.stack(images["train"]), labels["train"], np.stack(images[test]), labels[test],
                      classes=classes, source={**(describe_files([path]) if path.is_file() else {"folder": str(path)}),
                                               "test_split": test})


def load_image_folder(data_root: str | None, split_seed: int, options: dict) -> RawDataset:
    """``dataset_options.image_folder.path`` (relative paths are under data_root)."""
    path = Path(options["path"])
    if not path.is_absolute() and data_root:
        path = Path(data_root) / path
    if not path.exists():
        raise missing("image_folder", f"{options['path']} ({EXPECTED})", data_root)
    return read_image_folder(path, int(options["size"]), int(options.get("channels", 3)), int(options["num_classes"]))
