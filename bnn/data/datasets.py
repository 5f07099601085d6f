"""Dataset registry: each entry knows its input shape and classes, and loads the raw splits.

``digits`` is the embedded default: scikit-learn's bundled 8x8 handwritten digits (1797 real
images, shipped inside the installed package, so it works offline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from bnn.registry import Registry


@dataclass
class RawDataset:
    """Images as uint8 (N, C, H, W), integer labels, and where they came from."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: list[str]
    source: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetInfo:
    """What the plan needs to know before any data is read: input shape (C, H, W) and class count."""

    shape: tuple[int, int, int]
    num_classes: int
    load: Callable[[str | None, int], RawDataset]


DATASETS: Registry[DatasetInfo] = Registry("dataset")


def load_digits(data_root: str | None, split_seed: int) -> RawDataset:
    """sklearn ``load_digits``: 16 grey levels scaled to 0..255; a stratified seeded 80/20 train/test split
    (the data set has no official split)."""
    import sklearn
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_digits()
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    labels = bunch.target.astype(np.int64)
    tr_x, te_x, tr_y, te_y = train_test_split(images, labels, test_size=0.2, stratify=labels,
                                              random_state=split_seed)
    return RawDataset(tr_x, tr_y, te_x, te_y, classes=[str(c) for c in bunch.target_names],
                      source={"package": f"scikit-learn {sklearn.__version__}", "loader": "load_digits"})


DATASETS.register("digits")(DatasetInfo(shape=(1, 8, 8), num_classes=10, load=load_digits))
