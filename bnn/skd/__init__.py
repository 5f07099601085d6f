"""SKD-BNN (METHODS.md §6): the real-valued shadow branch and the loss terms; the loss is ``skd`` in bnn.losses."""

from bnn.skd.shadow import ShadowBranch
from bnn.skd.terms import LabelBank, channel_spatial, label_cluster

__all__ = ["LabelBank", "ShadowBranch", "channel_spatial", "label_cluster"]
