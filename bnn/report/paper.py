"""Published top-1 accuracies (docs/methods.md §7, with §2.7, §3.6, §4.5), keyed as the workflow keys its runs.

The records live in ``paper_top1.csv`` beside this module. A record is ``(dataset, arch, method, top1, source)``.
``dataset`` is a dataset registry name (``cifar10``, ``cifar100``, ``tiny_imagenet``, ``imagenet``, ``mnist``),
``arch`` a model registry name
(``binarynet_vgg``, ``vgg_small``, ``resnet20_bireal`` (IR-Net's, SD-BNN's and SKD-BNN's ResNet-20, §0.5 e),
``resnet18_cifar``, ``resnet18_bireal``, ``reactnet_a``, ``binarynet_mlp``) and ``method`` the recipe name a
paper config uses:

- SGDAT optimizer study (§2.6-2.7, binary weights by the optimizer, real parameters by Adam 1e-3):
  ``sgdat``, ``sgdat-momentum``, ``sgdt``, ``bop``, ``bop2ndorder``, ``sgd-latent`` (SGD), ``sgdm-latent``
  (SGDM); and the rows with one optimizer for every parameter: ``sgd-star`` (SGD*), ``sgdm-star`` (SGDM*),
  ``adam-star`` (Adam*);
- ``irnet`` (IR-Net, §3.1), ``sdbnn`` (SD-BNN W1/A1, §3.5-3.6), ``sdbnn-w32a1`` (SD-BNN with real weights),
  ``skdbnn`` (SKD-BNN, §6), ``adambnn`` (AdamBNN two-step, §4.5), ``reactnet`` (the ReActNet recipe, §4.5).

Iterative Training (§5.6) publishes no verified number, so it has no record.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

RECORDS = Path(__file__).with_name("paper_top1.csv")  # dataset, arch, method, top1, source


@lru_cache(maxsize=1)
def records() -> dict[tuple[str, str, str], tuple[float, str]]:
    with open(RECORDS, newline="") as handle:
        return {(r["dataset"], r["arch"], r["method"]): (float(r["top1"]), r["source"]) for r in csv.DictReader(handle)}


def paper_top1(dataset: str, arch: str, method: str) -> tuple[float, str] | None:
    """The published top-1 (%) and its source for this setting, or None when docs/methods.md gives none."""
    return records().get((dataset, arch, method))
