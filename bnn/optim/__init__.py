"""Optimizers, parameter groups and lr schedules of a stage (METHODS.md §2.1, §2.6, §4.3).

Two forms of ``optimizer`` config:

* one optimizer over every parameter: ``{name: adam, lr: ..., groups: {weights: {...}, other: {...}}}``;
  ``weights`` = the weight tensor of every binarizable layer (AdamBNN's conv-weight group), ``other`` =
  the rest; ``groups`` overrides hyper-parameters per group;
* split, like SGDAT's ``bin_regime``/``fp_regime``: ``{name: split, binary: {name: sgdat, ...}, real: {name: adam, ...}}``;
  ``binary`` = the latent weights of the layers this stage's schedule binarizes, ``real`` = every other
  parameter. An empty group is an error.

Every optimizer with an ``lr`` gets the stage's lr schedule (stepped per epoch).
"""

from __future__ import annotations

import torch
from torch import nn

from bnn.errors import BnnError
from bnn.nn import BinaryLayer, binary_layers
from bnn.optim.binary import SGDAT, SGDT, BinaryOptimizer, Bop, Bop2ndOrder
from bnn.optim.lr import LR_SCHEDULES
from bnn.registry import Registry

OPTIMIZERS: Registry = Registry("optimizer")
OPTIMIZERS.register("sgd")(torch.optim.SGD)
OPTIMIZERS.register("adam")(torch.optim.Adam)
OPTIMIZERS.register("adamw")(torch.optim.AdamW)
OPTIMIZERS.register("bop")(Bop)
OPTIMIZERS.register("bop2ndorder")(Bop2ndOrder)
OPTIMIZERS.register("sgdat")(SGDAT)
OPTIMIZERS.register("sgdt")(SGDT)

GROUPS = ("weights", "other")
SPLIT = ("binary", "real")


def _build_one(spec: dict, groups: dict[str, list[nn.Parameter]], key: str) -> torch.optim.Optimizer:
    spec = dict(spec)
    cls = OPTIMIZERS.get(spec.pop("name", "adam"), f"{key}.name")
    overrides = spec.pop("groups", {}) or {}
    for name in overrides:
        if name not in groups:
            raise BnnError(f"{key}.groups.{name}: unknown parameter group; use {' or '.join(groups)}")
        if not groups[name]:
            raise BnnError(f"{key}.groups.{name}: no parameter is in group {name!r} here; remove the override")
    param_groups = [{"params": p, "name": name, **overrides.get(name, {})} for name, p in groups.items() if p]
    if not param_groups:
        raise BnnError(f"{key}: this optimizer has no parameters; remove it or change the schedule")
    try:
        return cls(param_groups, **spec)
    except (TypeError, ValueError) as exc:
        raise BnnError(f"{key}: bad option for {cls.__name__} ({exc})") from None


class Optimizers:
    """The stage's optimizer(s) and their lr schedules, driven as one."""

    def __init__(self, spec: dict, schedule_spec: dict, model: nn.Module, latent: list[BinaryLayer], epochs: int,
                 key: str = "optimizer", schedule_key: str = "lr_schedule", binary_from_start: bool = True):
        if spec.get("name") == "split":
            extra = sorted(set(spec) - {"name", *SPLIT})
            if extra or not all(isinstance(spec.get(part), dict) for part in SPLIT):
                raise BnnError(f"{key}: a split optimizer is {{name: split, binary: {{name: ...}}, real: {{name: ...}}}}"
                               + (f"; unknown key {extra[0]!r}" if extra else ""))
            binary_ids = {id(layer.weight) for layer in latent}
            if not binary_ids:
                raise BnnError(f"{key}.binary: no weight is binarized in this stage (schedule.weights is real); "
                               "use one optimizer instead of a binary/real split")
            params = list(model.parameters())
            self.named = [
                ("binary", _build_one(spec["binary"], {"binary": [p for p in params if id(p) in binary_ids]},
                                      f"{key}.binary")),
                ("real", _build_one(spec["real"], {"real": [p for p in params if id(p) not in binary_ids]},
                                    f"{key}.real")),
            ]
        else:
            weights = {id(layer.weight) for layer in binary_layers(model)}
            groups = {"weights": [p for p in model.parameters() if id(p) in weights],
                      "other": [p for p in model.parameters() if id(p) not in weights]}
            self.named = [("all", _build_one(spec, groups, key))]
        for name, optimizer in self.named:
            if isinstance(optimizer, BinaryOptimizer) and name != "binary":
                raise BnnError(f"{key}.name: {type(optimizer).__name__} updates binary weights only; "
                               "use it as optimizer.binary with another optimizer as optimizer.real")
            if isinstance(optimizer, BinaryOptimizer) and not binary_from_start:
                raise BnnError(f"{key}.binary.name: {type(optimizer).__name__} needs weights binary from epoch 0; "
                               "set schedule.weights: binary or use sgd/adam for the latent weights")
        factor = LR_SCHEDULES.get(schedule_spec.get("name", "constant"), f"{schedule_key}.name")
        options = {k: v for k, v in schedule_spec.items() if k != "name"}
        try:
            factor(0, epochs, **options)
        except TypeError:
            raise BnnError(f"{schedule_key}: {sorted(options)} are not options of schedule "
                           f"{schedule_spec.get('name')!r}") from None
        self.schedulers = [torch.optim.lr_scheduler.LambdaLR(opt, lambda e: factor(e, epochs, **options))
                           for _, opt in self.named if "lr" in opt.defaults]

    def zero_grad(self) -> None:
        for _, optimizer in self.named:
            optimizer.zero_grad(set_to_none=True)

    def step(self) -> None:
        for _, optimizer in self.named:
            optimizer.step()

    def start_epoch(self) -> None:
        for _, optimizer in self.named:
            if isinstance(optimizer, BinaryOptimizer):
                optimizer.start_epoch()

    def end_epoch(self) -> None:
        for scheduler in self.schedulers:
            scheduler.step()

    def lr(self) -> float:
        """The lr logged in metrics.csv: the real-parameter optimizer's first group."""
        for _, optimizer in reversed(self.named):
            if "lr" in optimizer.param_groups[0]:
                return optimizer.param_groups[0]["lr"]
        return float("nan")

    def state_dict(self) -> dict:
        return {"optimizers": [opt.state_dict() for _, opt in self.named],
                "schedulers": [s.state_dict() for s in self.schedulers]}

    def load_state_dict(self, state: dict) -> None:
        for (_, optimizer), saved in zip(self.named, state["optimizers"]):
            optimizer.load_state_dict(saved)
        for scheduler, saved in zip(self.schedulers, state["schedulers"]):
            scheduler.load_state_dict(saved)


__all__ = ["LR_SCHEDULES", "OPTIMIZERS", "Bop", "Bop2ndOrder", "Optimizers", "SGDAT", "SGDT"]
