"""Optimizers by name: torch's sgd, adam, adamw, and the binary-weight optimizers (docs/methods.md §2.3–2.5)."""

from __future__ import annotations

import torch

from bnn.optim.binary import SGDAT, SGDT, Bop, Bop2ndOrder
from bnn.registry import Registry

OPTIMIZERS: Registry = Registry("optimizer")
OPTIMIZERS.register("sgd")(torch.optim.SGD)
OPTIMIZERS.register("adam")(torch.optim.Adam)
OPTIMIZERS.register("adamw")(torch.optim.AdamW)
OPTIMIZERS.register("bop")(Bop)
OPTIMIZERS.register("bop2ndorder")(Bop2ndOrder)
OPTIMIZERS.register("sgdat")(SGDAT)
OPTIMIZERS.register("sgdt")(SGDT)
