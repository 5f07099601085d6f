"""Tiny-ImageNet as distributed (``tiny-imagenet-200`` folder, ``.zip`` or ``.tar.gz``, read without unpacking):
``wnids.txt``, ``train/<wnid>/images/*.JPEG`` and ``val/images/*.JPEG`` labelled by ``val/val_annotations.txt``;
the unlabelled ``test/`` is not read. 64x64 RGB (greyscale JPEGs become RGB), 200 classes in sorted wnid order
(torchvision's ImageFolder order). 100k images fit in memory (1.2 GB uint8), so it is decoded at prepare time
like CIFAR. Its labelled ``val`` is the reported test split (SGDAT, docs/methods.md §0.7); the validation hold-out
comes from train."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import numpy as np

from bnn.data.archive import members
from bnn.data.image_folder import decode
from bnn.data.raw import RawDataset, describe_source, missing
from bnn.errors import BnnError

NAME = "tiny-imagenet-200"
SIZE = 64
EXPECTED = (
    f"{NAME}/{{wnids.txt, train/<wnid>/images/*.JPEG, val/images/*.JPEG, val/val_annotations.txt}} "
    f"(a folder, {NAME}.zip or {NAME}.tar.gz)"
)


def find_tiny_imagenet(data_root: str | None) -> Path | None:
    """The folder ``data_root/tiny-imagenet-200`` (with wnids.txt), else its ``.zip`` or ``.tar.gz``."""
    if not data_root:
        return None
    root = Path(data_root)
    if (root / NAME / "wnids.txt").is_file():
        return root / NAME
    return next((path for path in (root / f"{NAME}.zip", root / f"{NAME}.tar.gz") if path.is_file()), None)


def _role(name: str) -> str | None:
    """What a member is: wnids, annotations, train or val (an image), or None (boxes, test images, ...)."""
    parts = PurePosixPath(name).parts
    if parts[-1].startswith("."):
        return None
    if parts[-1] == "wnids.txt":
        return "wnids"
    if parts[-2:] == ("val", "val_annotations.txt"):
        return "annotations"
    if len(parts) >= 4 and parts[-4] == "train" and parts[-2] == "images":
        return "train"
    if len(parts) >= 3 and parts[-3:-1] == ("val", "images"):
        return "val"
    return None


def load_tiny_imagenet(data_root: str | None, split_seed: int, options: dict) -> RawDataset:
    path = find_tiny_imagenet(data_root)
    if path is None:
        raise missing("tiny_imagenet", EXPECTED, data_root)
    wnids: list[str] = []
    annotations: dict[str, str] = {}
    train: list[tuple[str, np.ndarray]] = []
    val: dict[str, np.ndarray] = {}
    for name, data in members(path, lambda n: _role(n) is not None):
        role = _role(name)
        if role == "wnids":
            wnids = data.decode().split()
        elif role == "annotations":
            annotations = dict(line.split("\t")[:2] for line in data.decode().splitlines() if line.strip())
        elif role == "train":
            train.append((PurePosixPath(name).parts[-3], decode(data, SIZE, "RGB", f"{path}/{name}")))
        else:
            val[PurePosixPath(name).name] = decode(data, SIZE, "RGB", f"{path}/{name}")
    if not wnids or not train or not val or not annotations:
        raise missing("tiny_imagenet", EXPECTED, data_root)
    classes = sorted(wnids)
    index = {wnid: i for i, wnid in enumerate(classes)}
    for wnid in [w for w, _ in train] + [annotations.get(f, "") for f in val]:
        if wnid not in index:
            raise BnnError(
                f"datasets: {path} has an image of class {wnid!r} that is not in wnids.txt "
                f"(or a val image missing from val_annotations.txt)"
            )
    files = sorted(val)
    return RawDataset(
        np.stack([image for _, image in train]),
        np.array([index[w] for w, _ in train], dtype=np.int64),
        np.stack([val[f] for f in files]),
        np.array([index[annotations[f]] for f in files], dtype=np.int64),
        classes=classes,
        source={**describe_source(path), "test_split": "val"},
    )
