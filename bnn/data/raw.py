"""What a reader returns (``RawDataset``) and the helpers every file-based reader shares: finding the
source files under ``data_root``, checksumming them, the one-line missing-data error, and the
torchvision download used only when the files are missing (docs/architecture.md, "Data flow")."""

from __future__ import annotations

import hashlib
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bnn.errors import BnnError


@dataclass
class RawDataset:
    """Images as uint8 (N, C, H, W), integer labels, class names, and where they came from."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: list[str]
    source: dict = field(default_factory=dict)


@dataclass
class ImageFiles:
    """A dataset streamed from its files (too large for memory): the folder, image paths relative to it,
    labels, class names, where they came from, and the normalisation statistics when they are fixed
    (ImageNet's; None: estimated from a sample at prepare time)."""

    root: Path
    train_files: list[str]
    train_labels: np.ndarray
    test_files: list[str]
    test_labels: np.ndarray
    classes: list[str]
    source: dict = field(default_factory=dict)
    mean: list[float] | None = None
    std: list[float] | None = None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_files(files: list[Path]) -> dict:
    """The ``source`` entry of meta.json for file-based readers: folder and SHA-256 of each file."""
    return {"folder": str(files[0].parent), "files": {f.name: sha256_file(f) for f in files}}


def describe_source(path: Path) -> dict:
    """``source`` of a dataset read from one archive (its checksum) or a folder (its path)."""
    return describe_files([path]) if path.is_file() else {"folder": str(path)}


def missing(dataset: str, expected: str, data_root: str | None, also: str = "") -> BnnError:
    """The one-line missing-data error; ``also`` names a further config key that can point at the files."""
    return BnnError(
        f"datasets: {dataset} needs {expected} under data_root {data_root!r} "
        f"(set data_root: to the folder holding them{also})"
    )


def under_root(data_root: str | None, path: str) -> Path:
    """``path`` as given when absolute (or without data_root), else relative to data_root."""
    return Path(data_root) / path if data_root and not Path(path).is_absolute() else Path(path)


def find_folder(data_root: str | None, folders: list[str], has: Callable[[Path], bool]) -> Path | None:
    """The first of ``data_root/<folder>`` (``""`` is data_root itself) for which ``has`` holds."""
    if not data_root:
        return None
    for folder in folders:
        path = Path(data_root) / folder
        if path.is_dir() and has(path):
            return path
    return None


def download(dataset: str, fetch: Callable[[], object], expected: str, data_root: str | None) -> None:
    """Let torchvision download into data_root; offline (or any failure) becomes the one-line missing error."""
    if not data_root:
        raise missing(dataset, expected, data_root)
    try:
        fetch()
    except Exception as error:  # torchvision raises URLError, RuntimeError or OSError offline
        raise BnnError(
            f"{missing(dataset, expected, data_root)}; download failed: "
            f"{textwrap.shorten(str(error), 160, placeholder=' ...')}"
        ) from None


def as_uint8(images: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(images, dtype=np.uint8)
