"""SKD-BNN (docs/methods.md §6): the real-valued shadow branch; its loss terms are :mod:`bnn.losses.skd`."""

from bnn.skd.shadow import ShadowBranch

__all__ = ["ShadowBranch"]
