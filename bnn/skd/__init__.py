"""SKD-BNN (METHODS.md §6): the real-valued shadow branch and its loss terms (registered in bnn.losses)."""

from bnn.skd.shadow import ShadowBranch
from bnn.skd.terms import ChannelSpatialDistillation, LabelCluster, SoftLabelBank, channel_spatial, label_cluster

__all__ = [
    "ChannelSpatialDistillation",
    "LabelCluster",
    "ShadowBranch",
    "SoftLabelBank",
    "channel_spatial",
    "label_cluster",
]
