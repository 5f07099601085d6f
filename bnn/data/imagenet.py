"""ImageNet (ILSVRC-2012) in ImageFolder layout: ``train/<wnid>/*.JPEG`` and the usual re-organised
``val/<wnid>/*.JPEG`` under ``data_root/<path>`` (``path`` default ``imagenet``). Too large for memory, so it is
always streamed: prepare indexes the files (``bnn.data.image_folder.index_image_folder``) and training decodes
them batch by batch (``bnn.data.stream``) with §0.7's transforms and ImageNet's normalisation statistics
(docs/methods.md §0.7). ``val/`` is the reported test split; the validation hold-out comes from train."""

from __future__ import annotations

from dataclasses import replace

from bnn.data.image_folder import index_image_folder
from bnn.data.raw import ImageFiles, missing, under_root

MEAN = [0.485, 0.456, 0.406]  # docs/methods.md §0.7 (torchvision's ImageNet statistics)
STD = [0.229, 0.224, 0.225]
EXPECTED = "train/<wnid>/*.JPEG and val/<wnid>/*.JPEG (val re-organised into class folders)"
DEFAULTS = {"path": "imagenet", "size": 224, "num_classes": 1000}


def load_imagenet(data_root: str | None, split_seed: int, options: dict) -> ImageFiles:
    options = {**DEFAULTS, **options}
    path = under_root(data_root, options["path"])
    if not (path / "train").is_dir() or not (path / "val").is_dir():
        raise missing(
            "imagenet",
            f"{options['path']}/{{{EXPECTED}}}",
            data_root,
            also=", or dataset_options.imagenet.path: to the ImageNet folder",
        )
    return replace(index_image_folder(path, int(options["num_classes"]), "imagenet"), mean=MEAN, std=STD)
