"""A stage's optimizer(s), parameter groups and lr schedule, driven as one (docs/methods.md §2.1, §2.6, §4.3).

Two forms of ``optimizer``:

* one optimizer over every parameter: ``{name: adam, lr: ..., groups: {weights: {...}, other: {...}}}``;
  ``weights`` = the weight tensor of every binarizable layer (AdamBNN's conv-weight group), ``other`` = the
  rest; ``groups`` overrides hyper-parameters per group;
* split, like SGDAT's ``bin_regime``/``fp_regime``: ``{name: split, binary: {name: sgdat, ...}, real: {name: adam,
  ...}}``; ``binary`` = the latent weights of the layers this stage's schedule binarizes (with an optional
  ``latent`` setting, :mod:`bnn.optim.latent`), ``real`` = every other parameter. An empty group is an error.
  ``allow_surrogate_gradient: true`` lets a binary optimizer read an estimator's non-identity gradient
  (:mod:`bnn.plan.checks`).

Every optimizer with an ``lr`` gets the stage's lr schedule, stepped at the end of each epoch.
"""

from __future__ import annotations

import torch
from torch import nn

from bnn.config.keys import check_keys
from bnn.config.spec import Component
from bnn.errors import BnnError
from bnn.nn import BinaryLayer, binary_layers
from bnn.optim.binary import BinaryOptimizer
from bnn.optim.latent import Latent, LatentWeights
from bnn.optim.lr import LR_SCHEDULES
from bnn.optim.registry import OPTIMIZERS
from bnn.train.callbacks import Callbacks

SPLIT_KEYS = ("binary", "real", "allow_surrogate_gradient")


def build_optimizer(spec: dict, groups: dict[str, list[nn.Parameter]], key: str) -> torch.optim.Optimizer:
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


class Optimizers(Callbacks):
    """The stage's optimizer(s) and their lr schedules; the loop calls ``zero_grad``, ``step`` and the callbacks."""

    def __init__(
        self,
        spec: Component,
        schedule: Component,
        model: nn.Module,
        latent: list[BinaryLayer],
        epochs: int,
        key: str = "optimizer",
        schedule_key: str = "lr_schedule",
        binary_from_start: bool = True,
    ):
        self.latent: LatentWeights | None = None
        if spec.name == "split":
            self.named = self._split(spec.options, model, latent, key, binary_from_start)
        else:
            weights = {id(layer.weight) for layer in binary_layers(model)}
            groups = {
                "weights": [p for p in model.parameters() if id(p) in weights],
                "other": [p for p in model.parameters() if id(p) not in weights],
            }
            self.named = [("all", build_optimizer(spec.to_dict(), groups, key))]
        for name, optimizer in self.named:
            if isinstance(optimizer, BinaryOptimizer) and name != "binary":
                raise BnnError(
                    f"{key}.name: {type(optimizer).__name__} updates binary weights only; "
                    "use it as optimizer.binary with another optimizer as optimizer.real"
                )
            if isinstance(optimizer, BinaryOptimizer) and not binary_from_start:
                raise BnnError(
                    f"{key}.binary.name: {type(optimizer).__name__} needs weights binary from epoch 0; "
                    "set schedule.weights: binary or use sgd/adam for the latent weights"
                )
        self.schedulers = self._schedulers(schedule, epochs, schedule_key)

    def _split(
        self, options: dict, model: nn.Module, latent: list[BinaryLayer], key: str, binary_from_start: bool
    ) -> list[tuple[str, torch.optim.Optimizer]]:
        check_keys(options, SPLIT_KEYS, key)
        if not all(isinstance(options.get(part), dict) for part in ("binary", "real")):
            raise BnnError(f"{key}: a split optimizer is {{name: split, binary: {{name: ...}}, real: {{name: ...}}}}")
        binary_ids = {id(layer.weight) for layer in latent}
        if not binary_ids:
            raise BnnError(
                f"{key}.binary: no weight is binarized in this stage (schedule.weights is real); "
                "use one optimizer instead of a binary/real split"
            )
        params = list(model.parameters())
        binary_params = [p for p in params if id(p) in binary_ids]
        binary = dict(options["binary"])
        if "latent" in binary:
            setting = Latent.parse(binary.pop("latent"), f"{key}.binary.latent")
            if is_binary_optimizer(binary.get("name")):
                raise BnnError(f"{key}.binary.latent: {binary['name']} keeps its own latent state; remove latent")
            if setting.init == "zeros" and not binary_from_start:
                raise BnnError(
                    f"{key}.binary.latent.init: zeros needs weights binary from epoch 0; set "
                    "schedule.weights: binary or latent.init: weights"
                )
            self.latent = LatentWeights(setting, binary_params)
        return [
            ("binary", build_optimizer(binary, {"binary": binary_params}, f"{key}.binary")),
            (
                "real",
                build_optimizer(
                    options["real"], {"real": [p for p in params if id(p) not in binary_ids]}, f"{key}.real"
                ),
            ),
        ]

    def _schedulers(self, schedule: Component, epochs: int, key: str) -> list:
        factor = LR_SCHEDULES.get(schedule.name, f"{key}.name")
        try:
            factor(0, epochs, **schedule.options)
        except TypeError:
            raise BnnError(f"{key}: {sorted(schedule.options)} are not options of schedule {schedule.name!r}") from None
        except ValueError as error:
            raise BnnError(f"{key}: {error}") from None
        return [
            torch.optim.lr_scheduler.LambdaLR(opt, lambda e: factor(e, epochs, **schedule.options))
            for _, opt in self.named
            if "lr" in opt.defaults
        ]

    def zero_grad(self) -> None:
        for _, optimizer in self.named:
            optimizer.zero_grad(set_to_none=True)

    def step(self) -> None:
        if self.latent:
            self.latent.before_step()
        for _, optimizer in self.named:
            optimizer.step()
        if self.latent:
            self.latent.after_step()

    def on_epoch_start(self, epoch: int, epochs: int) -> None:
        for _, optimizer in self.named:
            if isinstance(optimizer, BinaryOptimizer):
                optimizer.on_epoch_start(epoch, epochs)

    def on_epoch_end(self, epoch: int) -> None:
        for scheduler in self.schedulers:
            scheduler.step()

    def lr(self) -> float:
        """The lr logged in metrics.csv: the real-parameter optimizer's first group."""
        for _, optimizer in reversed(self.named):
            if "lr" in optimizer.param_groups[0]:
                return optimizer.param_groups[0]["lr"]
        return float("nan")

    def state_dict(self) -> dict:
        return {
            "optimizers": [opt.state_dict() for _, opt in self.named],
            "schedulers": [s.state_dict() for s in self.schedulers],
            "latent": self.latent.state_dict() if self.latent else {},
        }

    def load_state_dict(self, state: dict) -> None:
        for (_, optimizer), saved in zip(self.named, state["optimizers"]):
            optimizer.load_state_dict(saved)
        for scheduler, saved in zip(self.schedulers, state["schedulers"]):
            scheduler.load_state_dict(saved)
        if self.latent:
            self.latent.load_state_dict(state.get("latent", {}))


def is_binary_optimizer(name: object) -> bool:
    """Whether ``name`` is an optimizer of binary weights (Bop, SGDAT, ...), which has no latent of its own."""
    return isinstance(name, str) and name in OPTIMIZERS and issubclass(OPTIMIZERS.get(name), BinaryOptimizer)
