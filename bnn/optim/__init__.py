"""Optimizers, parameter groups, latent weights and lr schedules of a stage (docs/methods.md §0.4, §2, §4.3)."""

from bnn.optim.binary import SGDAT, SGDT, BinaryOptimizer, Bop, Bop2ndOrder
from bnn.optim.latent import Latent
from bnn.optim.lr import LR_SCHEDULES
from bnn.optim.registry import OPTIMIZERS
from bnn.optim.stage import Optimizers, is_binary_optimizer

__all__ = [
    "LR_SCHEDULES",
    "OPTIMIZERS",
    "SGDAT",
    "SGDT",
    "BinaryOptimizer",
    "Bop",
    "Bop2ndOrder",
    "Latent",
    "Optimizers",
    "is_binary_optimizer",
]
