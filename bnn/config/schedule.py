"""Which layer is binary when: the per-layer binarization schedule (docs/architecture.md, "Core abstraction").

A schedule has one rule for the weights and one for the activations of the controlled layers:

* ``real`` — never binary; ``binary`` — binary from epoch 0 (one-step BNN);
* ``{order: O, epochs_per_layer: k}`` — iterative layer-by-layer binarization (docs/methods.md §5.2):
  at epoch e (0-based) the first ``min(L, e // k + 1)`` layers of order O are binary, so the first
  listed layer is binary from the first epoch, and once binary a layer stays binary.
  Orders: ``forward``, ``reverse``, ``random`` (seeded by ``order_seed``), an explicit
  permutation of the 1-based layer numbers (a list ``[1, 3, 2]`` or a string ``"132"``), or
  ``ascend`` / ``descend`` from a sensitivity table (§5.3): the sensitivity of layer k is how low the
  validation accuracy is when only layer k is binary; ``ascend`` binarizes the least sensitive layer
  (highest accuracy) first, ``descend`` the most sensitive first; ties go to the lower layer number.
  ``sensitivity`` names the per-layer recipe in the config and holds the path of its
  ``sensitivity.csv`` in a resolved stage spec;
* ``{only: k}`` — only controlled layer k (1-based) is binary, at every epoch (sensitivity
  pre-training, §5.3).

``layers: inner`` (default) controls every binarizable layer but the first and the last, which stay
real (the papers' convention); ``layers: all`` controls all of them (Iterative Training binarizes
first and last layers too, §5.1).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from bnn.config.fields import Choice, Field, Integer, ListOf, Section, Text, setting
from bnn.config.keys import check_keys
from bnn.errors import BnnError

ORDERS = ("forward", "reverse", "random", "ascend", "descend")
SENSITIVITY_ORDERS = ("ascend", "descend")
ITERATIVE_KEYS = ("order", "epochs_per_layer", "order_seed", "sensitivity")
LAYER = Integer(1)  # a 1-based layer number


def read_sensitivity(path: str | Path) -> dict[int, float]:
    """Layer number (1-based) -> final validation accuracy with only that layer binary."""
    path = Path(path)
    if not path.is_file():
        raise BnnError(f"schedule.weights.sensitivity: {path} not found; run the sensitivity recipe first")
    with open(path, newline="") as handle:
        return {int(row["layer"]): float(row["val_acc"]) for row in csv.DictReader(handle)}


@dataclass(frozen=True)
class Timing:
    """When the weights (or activations) of the controlled layers are binary."""

    kind: str  # "real" | "binary" | "iterative" | "only"
    order: tuple[int, ...] | str = ()
    epochs_per_layer: int = 0
    order_seed: int = 0
    sensitivity: str = ""
    only: int = 0

    @classmethod
    def parse(cls, value: Any, key: str) -> Timing:
        if value in ("real", "binary"):
            return cls(kind=value)
        if isinstance(value, dict) and set(value) == {"only"}:
            return cls(kind="only", only=LAYER.parse(value["only"], f"{key}.only"))
        if isinstance(value, dict) and "order" in value:
            check_keys(value, ITERATIVE_KEYS, key)
            every = Integer(1).parse(value.get("epochs_per_layer"), f"{key}.epochs_per_layer")
            order = value["order"]
            if isinstance(order, list):
                order = ListOf(LAYER).parse(order, f"{key}.order")
            elif not isinstance(order, str) or (order not in ORDERS and not order.isdigit()):
                raise BnnError(
                    f"{key}.order: {order!r} is not one of {', '.join(ORDERS)} "
                    "nor a permutation such as '132' or [1, 3, 2]"
                )
            elif order not in ORDERS:
                order = tuple(int(c) for c in order)
            return cls(
                kind="iterative",
                order=order,
                epochs_per_layer=every,
                order_seed=Integer(None).parse(value.get("order_seed", 0), f"{key}.order_seed"),
                sensitivity=Text().parse(value.get("sensitivity", ""), f"{key}.sensitivity"),
            )
        raise BnnError(f"{key}: {value!r} is not 'real', 'binary', {{order: ..., epochs_per_layer: k}} or {{only: k}}")

    def permutation(self, n: int, key: str) -> list[int]:
        """The 0-based binarization order of ``n`` controlled layers."""
        if self.order == "forward":
            return list(range(n))
        if self.order == "reverse":
            return list(reversed(range(n)))
        if self.order == "random":
            order = list(range(n))
            random.Random(self.order_seed).shuffle(order)
            return order
        if self.order in SENSITIVITY_ORDERS:
            accuracy = read_sensitivity(self.sensitivity)
            if sorted(accuracy) != list(range(1, n + 1)):
                raise BnnError(
                    f"{key}.sensitivity: {self.sensitivity} has layers {sorted(accuracy)}, this schedule "
                    f"controls layers 1..{n}; use a sensitivity recipe with the same model and layers"
                )
            ascending = sorted(accuracy, key=lambda layer: (-accuracy[layer], layer))
            order = ascending if self.order == "ascend" else ascending[::-1]
            return [layer - 1 for layer in order]
        if sorted(self.order) != list(range(1, n + 1)):
            raise BnnError(f"{key}.order: {list(self.order)} is not a permutation of the {n} controlled layers 1..{n}")
        return [i - 1 for i in self.order]

    def binary_at(self, epoch: int, n: int, key: str) -> list[bool]:
        if self.kind == "real":
            return [False] * n
        if self.kind == "binary":
            return [True] * n
        if self.kind == "only":
            return [i == self.only - 1 for i in range(n)]
        count = min(n, epoch // self.epochs_per_layer + 1)
        flags = [False] * n
        for index in self.permutation(n, key)[:count]:
            flags[index] = True
        return flags

    def bits(self) -> int:
        return 32 if self.kind == "real" else 1

    def to_value(self) -> str | dict:
        """The config form: ``real``, ``binary``, ``{only: k}`` or ``{order, epochs_per_layer, ...}``."""
        if self.kind in ("real", "binary"):
            return self.kind
        if self.kind == "only":
            return {"only": self.only}
        value = {
            "order": self.order if isinstance(self.order, str) else list(self.order),
            "epochs_per_layer": self.epochs_per_layer,
            "order_seed": self.order_seed,
        }
        return {**value, "sensitivity": self.sensitivity} if self.sensitivity else value


@dataclass(frozen=True)
class TimingField(Field):
    description: str = "'real', 'binary', iterative {order, epochs_per_layer[, order_seed, sensitivity]} or {only: k}"

    def form(self) -> str:
        return "'real', 'binary', {order: O, epochs_per_layer: k} or {only: k}"

    def parse(self, value: Any, key: str) -> Timing:
        return Timing.parse(value, key)

    def json_schema(self) -> dict:
        iterative = {
            "type": "object",
            "required": ["order", "epochs_per_layer"],
            "additionalProperties": False,
            "properties": {
                "order": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "integer", "minimum": 1}}]},
                "epochs_per_layer": {"type": "integer", "minimum": 1},
                "order_seed": {"type": "integer"},
                "sensitivity": {
                    "description": "the per_layer recipe whose sensitivity.csv orders ascend/descend",
                    "type": "string",
                },
            },
        }
        only = {
            "type": "object",
            "required": ["only"],
            "additionalProperties": False,
            "properties": {"only": {"type": "integer", "minimum": 1}},
        }
        return {"oneOf": [{"enum": ["real", "binary"]}, iterative, only]}

    def examples(self) -> tuple[list, list]:
        valid = [
            "real",
            "binary",
            {"only": 2},
            {"order": "forward", "epochs_per_layer": 1},
            {"order": [2, 1], "epochs_per_layer": 2},
        ]
        invalid = [
            "half",
            {"only": 0},
            {"order": "forward"},
            {"order": "forward", "epochs_per_layer": 0},
            {"order": "forward", "epochs_per_layer": 1, "x": 1},
        ]
        return valid, invalid


@dataclass(frozen=True)
class Schedule(Section):
    """Which controlled layers have binary weights and activations at each epoch."""

    default_key: ClassVar[str] = "schedule"

    weights: Timing = setting(Timing("real"), TimingField(), "when the weights are binary")
    acts: Timing = setting(Timing("real"), TimingField(), "when the activations are binary")
    layers: str = setting(
        "inner", Choice(("inner", "all")), "inner: first and last layers stay real (the papers'); all: every layer"
    )

    def controlled(self, n_layers: int) -> list[int]:
        """Indices of the layers this schedule switches."""
        if self.layers == "all":
            return list(range(n_layers))
        return list(range(1, n_layers - 1))

    def to_dict(self) -> dict:
        return {"weights": self.weights.to_value(), "acts": self.acts.to_value(), "layers": self.layers}

    def ever_binary_weights(self, n_layers: int) -> list[int]:
        """Indices of the layers whose weights are binary at some epoch of this schedule."""
        return [] if self.weights.kind == "real" else self.controlled(n_layers)

    def states(self, epoch: int, n_layers: int, key: str = "schedule") -> list[list[bool]]:
        """[weights_binary, acts_binary] of every binarizable layer at ``epoch``."""
        states = [[False, False] for _ in range(n_layers)]
        controlled = self.controlled(n_layers)
        weights = self.weights.binary_at(epoch, len(controlled), f"{key}.weights")
        acts = self.acts.binary_at(epoch, len(controlled), f"{key}.acts")
        for index, w, a in zip(controlled, weights, acts):
            states[index] = [w, a]
        return states

    def check(self, epochs: int, n_layers: int, key: str = "schedule", tables_ready: bool = True) -> None:
        """Fail fast if the schedule cannot run on this model for ``epochs`` epochs. Before the sensitivity
        table exists (``tables_ready=False``, at plan time) an ascend/descend order is checked for epochs only."""
        n = len(self.controlled(n_layers))
        if n_layers == 0:
            if self.weights.kind != "real" or self.acts.kind != "real":
                raise BnnError(
                    f"{key}: the model has no binarizable layers (a float-only teacher such as "
                    "resnet34_tv); use weights: real and acts: real"
                )
            return
        if n == 0:
            raise BnnError(
                f"{key}.layers: the model has {n_layers} binarizable layers, none of them inner; use layers: all"
            )
        for name, rule in (("weights", self.weights), ("acts", self.acts)):
            if rule.kind == "only" and rule.only > n:
                raise BnnError(
                    f"{key}.{name}.only: layer {rule.only} does not exist; this schedule controls layers 1..{n}"
                )
            if rule.kind != "iterative":
                continue
            if tables_ready or rule.order not in SENSITIVITY_ORDERS:
                rule.permutation(n, f"{key}.{name}")
            last = (n - 1) * rule.epochs_per_layer
            if last >= epochs:
                raise BnnError(
                    f"{key}.{name}.epochs_per_layer: {rule.epochs_per_layer} x {n} layers needs more "
                    f"than {last} epochs, the stage has {epochs}; raise epochs or lower epochs_per_layer"
                )
