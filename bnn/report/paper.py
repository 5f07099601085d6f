"""Published top-1 accuracies (METHODS.md §7, with §2.7, §3.6, §4.5), keyed as the workflow keys its runs.

A record is ``(dataset, arch, method, top1, source)``. ``dataset`` is a dataset registry name
(``cifar10``, ``cifar100``, ``tiny_imagenet``, ``imagenet``, ``mnist``), ``arch`` a model registry name
(``binarynet_vgg``, ``vgg_small``, ``resnet20_bireal`` (IR-Net's, SD-BNN's and SKD-BNN's ResNet-20, §0.5 e),
``resnet18_cifar``, ``resnet18_bireal``, ``reactnet_a``, ``binarynet_mlp``) and ``method`` the recipe name a paper config uses:

- SGDAT optimizer study (§2.6-2.7, binary weights by the optimizer, real parameters by Adam 1e-3):
  ``sgdat``, ``sgdat-momentum``, ``sgdt``, ``bop``, ``bop2ndorder``, ``sgd-latent`` (SGD), ``sgdm-latent``
  (SGDM); and the rows with one optimizer for every parameter: ``sgd-star`` (SGD*), ``sgdm-star`` (SGDM*),
  ``adam-star`` (Adam*);
- ``irnet`` (IR-Net, §3.1), ``sdbnn`` (SD-BNN W1/A1, §3.5-3.6), ``sdbnn-w32a1`` (SD-BNN with real weights),
  ``skdbnn`` (SKD-BNN, §6), ``adambnn`` (AdamBNN two-step, §4.5), ``reactnet`` (the ReActNet recipe, §4.5).

Iterative Training (§5.6) publishes no verified number, so it has no record.
"""

from __future__ import annotations

SGDAT_ROWS = {  # §2.7 "Table 2": CIFAR-10, CIFAR-100, Tiny-ImageNet top-1 of BinaryNet-VGG
    "sgd-star": (81.42, 55.55, 34.12), "sgdm-star": (84.87, 59.51, 36.26), "adam-star": (89.16, 63.66, 45.05),
    "sgd-latent": (88.44, 63.56, 44.67), "sgdm-latent": (89.63, 64.55, 45.68), "bop": (88.74, 63.46, 44.74),
    "bop2ndorder": (89.44, 64.37, 46.54), "sgdt": (89.48, 62.25, 43.41), "sgdat": (89.67, 65.40, 46.78),
    "sgdat-momentum": (89.73, 65.05, 47.20),
}

PAPER: tuple[tuple[str, str, str, float, str], ...] = (
    *((dataset, "binarynet_vgg", method, top1, "SGDAT Table 2 (METHODS.md §2.7)")
      for method, row in SGDAT_ROWS.items()
      for dataset, top1 in zip(("cifar10", "cifar100", "tiny_imagenet"), row)),
    ("cifar10", "resnet20_bireal", "irnet", 86.5, "IR-Net (METHODS.md §7)"),
    ("cifar10", "vgg_small", "irnet", 90.4, "IR-Net (METHODS.md §7)"),
    ("cifar10", "resnet18_cifar", "irnet", 91.5, "IR-Net (METHODS.md §7)"),
    ("cifar10", "resnet20_bireal", "sdbnn", 86.9, "SD-BNN README (METHODS.md §3.6)"),
    ("cifar10", "vgg_small", "sdbnn", 90.8, "SD-BNN README (METHODS.md §3.6)"),
    ("cifar10", "resnet18_cifar", "sdbnn", 92.5, "SD-BNN README (METHODS.md §3.6)"),
    ("imagenet", "resnet18_bireal", "sdbnn", 66.5, "SD-BNN README (METHODS.md §3.5)"),
    ("imagenet", "resnet18_bireal", "sdbnn-w32a1", 67.6, "SD-BNN README (METHODS.md §3.5)"),
    ("imagenet", "reactnet_a", "adambnn", 70.5, "AdamBNN README (METHODS.md §4.5)"),
    ("imagenet", "reactnet_a", "reactnet", 69.4, "AdamBNN README (METHODS.md §4.5)"),
    ("cifar10", "vgg_small", "skdbnn", 91.4, "SKD-BNN (METHODS.md §7)"),
    ("cifar10", "resnet20_bireal", "skdbnn", 87.2, "SKD-BNN (METHODS.md §7)"),
    ("cifar10", "resnet18_cifar", "skdbnn", 93.0, "SKD-BNN (METHODS.md §7)"),
    ("imagenet", "resnet18_bireal", "skdbnn", 59.7, "SKD-BNN (METHODS.md §7)"),
    ("mnist", "binarynet_mlp", "skdbnn", 98.78, "SKD-BNN (METHODS.md §7)"),
)


def paper_top1(dataset: str, arch: str, method: str) -> tuple[float, str] | None:
    """The published top-1 (%) and its source for this setting, or None when METHODS.md gives none."""
    for record in PAPER:
        if record[:3] == (dataset, arch, method):
            return record[3], record[4]
    return None
