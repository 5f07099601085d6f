"""Dataset registry: each entry knows its input shape and classes before any data is read (the plan
builds models on the meta device), and loads the raw splits at prepare time.

Options per dataset come from the config's ``dataset_options.<name>`` mapping: ``val_size`` (the
validation hold-out, overriding ``split.val_size``; 5000 for MNIST/CIFAR as Iterative Training, docs/methods.md
§0.7), ``download`` (let torchvision download missing files into data_root, default true) and,
for ``image_folder``, ``path``, ``size``, ``num_classes``, ``channels`` and ``stream``; for ``imagenet``,
``path``, ``size`` (the training crop) and ``num_classes``.

A dataset that ``streams`` (``imagenet``, ``image_folder`` with ``stream: true``) is indexed at prepare time
and decoded batch by batch during training (``bnn.data.stream``); every other dataset is decoded into memory.

``digits`` is the embedded default: scikit-learn's bundled 8x8 handwritten digits (1797 real
images, shipped inside the installed package, so it works offline).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from bnn.config.fields import Boolean, Choice, Integer, Number, Section, Text, setting
from bnn.data.cifar import load_cifar10, load_cifar100
from bnn.data.idx import load_fashion_mnist, load_mnist
from bnn.data.image_folder import load_image_folder
from bnn.data.imagenet import DEFAULTS as IMAGENET_DEFAULTS
from bnn.data.imagenet import load_imagenet
from bnn.data.raw import ImageFiles, RawDataset
from bnn.data.svhn import load_svhn
from bnn.data.tiny_imagenet import load_tiny_imagenet
from bnn.errors import BnnError
from bnn.registry import Registry

COMMON_OPTIONS = ("val_size", "download")
FOLDER_OPTIONS = ("path", "size", "num_classes", "channels", "stream")
IMAGENET_OPTIONS = ("val_size", "path", "size", "num_classes")


@dataclass(frozen=True)
class DatasetOptions(Section):
    """``dataset_options.<name>``: every option a dataset may take (which ones it takes: ``DatasetInfo.options``)."""

    val_size: float | None = setting(
        None, Number(0, exclusive_minimum=True), "validation hold-out for this dataset, overriding split.val_size"
    )
    download: bool | None = setting(None, Boolean(), "let torchvision download missing files into data_root")
    path: str | None = setting(
        None, Text(), "image_folder: folder or .tar.gz; imagenet: its folder (relative to data_root)"
    )
    size: int | None = setting(None, Integer(1), "image_folder: images resized to size x size; imagenet: the crop")
    num_classes: int | None = setting(
        None, Integer(1), "image_folder: class folders under train/; imagenet: 1000 unless a subset"
    )
    channels: int | None = setting(None, Choice((1, 3)), "image_folder: 1 (grey) or 3 (RGB)")
    stream: bool | None = setting(
        None, Boolean(), "image_folder: index the folder and decode batches with a DataLoader (too large for memory)"
    )


@dataclass(frozen=True)
class DatasetInfo:
    """Input shape (C, H, W), class count, whether it streams, and
    ``load(data_root, split_seed, options) -> RawDataset`` (decoded) or ``ImageFiles`` (to stream).
    A dataset whose shape comes from its options has ``configure(options, key) -> {field: value}``."""

    shape: tuple[int, int, int] | None
    num_classes: int | None
    load: Callable[[str | None, int, dict], RawDataset | ImageFiles]
    options: tuple[str, ...] = COMMON_OPTIONS
    configure: Callable[[dict, str], dict] | None = None
    streams: bool = False


DATASETS: Registry[DatasetInfo] = Registry("dataset")


def dataset_info(name: str, options: dict | None = None, key: str = "datasets") -> DatasetInfo:
    """The registry entry for ``name`` with its options checked and its shape resolved."""
    info = DATASETS.get(name, key)
    where = f"dataset_options.{name}"
    options = DatasetOptions.values(options, where)  # every option's type and range (bnn prepare's too)
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        raise BnnError(f"{where}.{unknown[0]}: not an option of {name}; its options: {', '.join(info.options)}")
    if info.configure is None:
        return info
    return replace(info, **info.configure(options, where))


def prepared_info(meta: dict) -> DatasetInfo:
    """What a prepared dataset's ``meta.json`` tells of it (shape, classes, streaming), as a registry entry."""
    return DatasetInfo(
        tuple(meta["shape"]),
        meta["num_classes"],
        DATASETS.get(meta["dataset"]).load,
        streams=meta["kind"] == "streaming",
    )


def load_digits(data_root: str | None, split_seed: int, options: dict) -> RawDataset:
    """sklearn ``load_digits``: 16 grey levels scaled to 0..255; a stratified seeded 80/20 train/test split
    (the data set has no official split)."""
    import sklearn
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_digits()
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    labels = bunch.target.astype(np.int64)
    tr_x, te_x, tr_y, te_y = train_test_split(images, labels, test_size=0.2, stratify=labels, random_state=split_seed)
    return RawDataset(
        tr_x,
        tr_y,
        te_x,
        te_y,
        classes=[str(c) for c in bunch.target_names],
        source={"package": f"scikit-learn {sklearn.__version__}", "loader": "load_digits"},
    )


def image_folder_shape(options: dict, key: str) -> dict:
    """Shape, classes and streaming of an image_folder dataset, from its options (no data is read at plan time)."""
    for option in ("path", "size", "num_classes"):
        if option not in options:
            raise BnnError(f"{key}.{option}: missing; image_folder needs path, size and num_classes")
    options = {"channels": 3, "stream": False, **options}
    size = options["size"]
    return {
        "shape": (options["channels"], size, size),
        "num_classes": options["num_classes"],
        "streams": options["stream"],
    }


def imagenet_shape(options: dict, key: str) -> dict:
    """ImageNet's crop ``size`` (224) and ``num_classes`` (1000; fewer for a class subset)."""
    options = {**IMAGENET_DEFAULTS, **options}
    return {"shape": (3, options["size"], options["size"]), "num_classes": options["num_classes"]}


DATASETS.register("digits")(DatasetInfo((1, 8, 8), 10, load_digits))
DATASETS.register("mnist")(DatasetInfo((1, 28, 28), 10, load_mnist))
DATASETS.register("fashion_mnist")(DatasetInfo((1, 28, 28), 10, load_fashion_mnist))
DATASETS.register("cifar10")(DatasetInfo((3, 32, 32), 10, load_cifar10))
DATASETS.register("cifar100")(DatasetInfo((3, 32, 32), 100, load_cifar100))
DATASETS.register("svhn")(DatasetInfo((3, 32, 32), 10, load_svhn))
DATASETS.register("tiny_imagenet")(DatasetInfo((3, 64, 64), 200, load_tiny_imagenet, ("val_size",)))
DATASETS.register("imagenet")(
    DatasetInfo((3, 224, 224), 1000, load_imagenet, IMAGENET_OPTIONS, imagenet_shape, streams=True)
)
DATASETS.register("image_folder")(
    DatasetInfo(None, None, load_image_folder, COMMON_OPTIONS + FOLDER_OPTIONS, image_folder_shape)
)
