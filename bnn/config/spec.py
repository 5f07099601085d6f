"""The typed stage spec: what one training stage computes, parsed and validated once, every default here.

A stage spec is the config's ``train`` defaults, overridden by a recipe, then by a stage (:mod:`bnn.config.recipes`),
plus the stage's identity and files (run, seed, data, model, init, teacher). :class:`Settings` is the part a
config level may set; :class:`StageSpec` is a whole stage. ``to_dict`` gives the human-readable mapping that
``spec.yaml`` holds and ``bnn train --spec`` reads back; ``result_dict`` leaves out the speed-only keys
(``SPEED_KEYS``), which never change what a stage computes, so changing them re-runs nothing.

Names (models, estimators, optimizers, loss terms) are checked where they are built (:mod:`bnn.plan.checks`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from bnn.config.keys import check_keys
from bnn.config.schedule import Schedule
from bnn.data.augment import Augment
from bnn.errors import BnnError

SPEED_KEYS = ("threads", "workers", "compile", "progress")  # how fast a stage runs, not what it computes
SIGN_ZERO = ("plus", "zero")
AMP = ("none", "bf16", "binary_bf16")
DEVICE_HELP = "cpu, cuda, cuda:N or auto"


def integer(value: Any, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BnnError(f"{key}: {value!r} must be an integer >= {minimum}")
    return value


def boolean(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise BnnError(f"{key}: {value!r} must be true or false")
    return value


def choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise BnnError(f"{key}: {value!r} must be one of {', '.join(choices)}")
    return value


def device_name(value: Any, key: str) -> str:
    text = str(value)
    if text in ("cpu", "cuda", "auto") or (text.startswith("cuda:") and text[5:].isdigit()):
        return text
    raise BnnError(f"{key}: {value!r} is not a device; use {DEVICE_HELP}")


DISTRIBUTED_BACKENDS = ("auto", "nccl", "gloo")


@dataclass(frozen=True)
class Distributed:
    """A stage's ``distributed`` setting: ``{nproc: N, backend: auto|nccl|gloo}`` (its fit with the batch size
    and device is a stage check, :mod:`bnn.plan.checks`)."""

    nproc: int = 1
    backend: str = "auto"

    @classmethod
    def parse(cls, value: dict, key: str = "distributed") -> Distributed:
        if not isinstance(value, dict) or set(value) - {"nproc", "backend"}:
            raise BnnError(f"{key}: {value!r} must be a mapping with nproc (processes) and backend (auto|nccl|gloo)")
        nproc, backend = value.get("nproc", 1), value.get("backend", "auto")
        if not isinstance(nproc, int) or isinstance(nproc, bool) or nproc < 1:
            raise BnnError(f"{key}.nproc: {nproc!r} must be an integer >= 1")
        if backend not in DISTRIBUTED_BACKENDS:
            raise BnnError(f"{key}.backend: {backend!r} must be one of {', '.join(DISTRIBUTED_BACKENDS)}")
        return cls(nproc, backend)


@dataclass(frozen=True)
class Component:
    """A named, configured part, ``{name: NAME, option: value, ...}`` (an optimizer, an lr schedule, an
    estimator); a bare ``NAME`` has no options."""

    name: str
    options: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any, key: str, default_name: str | None = None) -> Component:
        if isinstance(value, str):
            return cls(value)
        if not isinstance(value, dict) or ("name" not in value and default_name is None):
            raise BnnError(f"{key}: {value!r} is not a name or a mapping {{name: ..., option: value}}")
        options = {k: v for k, v in value.items() if k != "name"}
        return cls(str(value.get("name", default_name)), options)

    def to_dict(self) -> dict:
        return {"name": self.name, **self.options}

    def to_value(self) -> str | dict:
        """The bare name when there are no options (how a config writes an estimator)."""
        return self.to_dict() if self.options else self.name


@dataclass(frozen=True)
class BinarySpec:
    """How binary layers binarize (docs/methods.md §0.1–0.3, §3.2): conv type, estimators, scaling, sign(0)."""

    conv: str = "standard"
    weight_estimator: Component = Component("clipped_ste")
    act_estimator: Component = Component("clipped_ste")
    scaling: str = "none"
    sign_zero: str = "plus"

    @classmethod
    def parse(cls, value: Any, key: str) -> BinarySpec:
        value = mapping(value, key)
        check_keys(value, [f.name for f in fields(cls)], key)
        spec = cls()
        return cls(
            conv=str(value.get("conv", spec.conv)),
            weight_estimator=Component.parse(
                value.get("weight_estimator", spec.weight_estimator.name), f"{key}.weight_estimator"
            ),
            act_estimator=Component.parse(value.get("act_estimator", spec.act_estimator.name), f"{key}.act_estimator"),
            scaling=str(value.get("scaling", spec.scaling)),
            sign_zero=choice(value.get("sign_zero", spec.sign_zero), f"{key}.sign_zero", SIGN_ZERO),
        )

    def to_dict(self) -> dict:
        return {
            "conv": self.conv,
            "weight_estimator": self.weight_estimator.to_value(),
            "act_estimator": self.act_estimator.to_value(),
            "scaling": self.scaling,
            "sign_zero": self.sign_zero,
        }

    def layer_options(self) -> dict:
        """The keyword arguments of ``BinaryLayer.configure``."""
        return {
            "weight_estimator": self.weight_estimator.to_value(),
            "act_estimator": self.act_estimator.to_value(),
            "scaling": self.scaling,
            "sign_zero": self.sign_zero,
        }


@dataclass(frozen=True)
class Term:
    """One weighted term of a loss: ``name: weight`` or ``name: {weight: w, option: value}``."""

    name: str
    weight: float
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class LossSpec:
    """A loss as a weighted sum of named terms (:mod:`bnn.losses`), e.g. ``{ce: 1.0}`` or Hinton KD as
    ``{kd: {weight: 0.9, temperature: 4.0}, ce: 0.1}`` (docs/methods.md §0.6)."""

    terms: tuple[Term, ...] = (Term("ce", 1.0),)

    @classmethod
    def parse(cls, value: Any, key: str) -> LossSpec:
        value = mapping(value, key)
        if not value:
            raise BnnError(f"{key}: no term; write e.g. {{ce: 1.0}}")
        terms = []
        for name, setting in value.items():
            where = f"{key}.{name}"
            options = dict(setting) if isinstance(setting, dict) else {"weight": setting}
            weight = options.pop("weight", 1.0)
            if isinstance(weight, bool) or not isinstance(weight, (int, float)):
                raise BnnError(f"{where}: {setting!r} must be a weight (a number) or {{weight: w, option: value}}")
            terms.append(Term(str(name), float(weight), options))
        return cls(tuple(terms))

    def to_dict(self) -> dict:
        return {t.name: {"weight": t.weight, **t.options} if t.options else t.weight for t in self.terms}


@dataclass(frozen=True)
class Progress:
    """Progress within an epoch: a tqdm bar on a terminal, else a line every ``interval`` seconds (0: none)."""

    interval: float = 30.0

    @classmethod
    def parse(cls, value: Any, key: str) -> Progress:
        value = mapping(value, key)
        check_keys(value, ["interval"], key)
        interval = value.get("interval", cls.interval)
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0:
            raise BnnError(f"{key}.interval: {interval!r} must be a number of seconds >= 0 (0: no progress lines)")
        return cls(float(interval))

    def to_dict(self) -> dict:
        return {"interval": self.interval}


@dataclass(frozen=True)
class ModelSpec:
    """A model_specs entry: architecture name and its options (:mod:`bnn.models`)."""

    arch: str
    options: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any, key: str) -> ModelSpec:
        value = mapping(value, key)
        if "arch" not in value:
            raise BnnError(f"{key}.arch: missing; name an architecture of bnn.models, e.g. arch: mlp")
        return cls(str(value["arch"]), {k: v for k, v in value.items() if k != "arch"})

    def to_dict(self) -> dict:
        return {"arch": self.arch, **self.options}


def mapping(value: Any, key: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BnnError(f"{key}: {value!r} must be a mapping")
    return value


PARSERS = {
    "epochs": lambda v, k: integer(v, k, 1),
    "batch_size": lambda v, k: integer(v, k, 1),
    "device": device_name,
    "schedule": lambda v, k: Schedule.parse(mapping(v, k), k),
    "binary": BinarySpec.parse,
    "optimizer": lambda v, k: Component.parse(v, k, default_name="adam"),
    "lr_schedule": lambda v, k: Component.parse(v, k, default_name="constant"),
    "loss": LossSpec.parse,
    "augment": lambda v, k: Augment.parse(mapping(v, k), k),
    "amp": lambda v, k: choice(v, k, AMP),
    "channels_last": boolean,
    "distributed": lambda v, k: Distributed.parse(mapping(v, k), k),
    "threads": lambda v, k: integer(v, k, 1),
    "workers": lambda v, k: None if v is None else integer(v, k, 0),
    "compile": boolean,
    "progress": Progress.parse,
}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What ``train``, a recipe or a stage may set; each field's default is the one default of that key."""

    epochs: int | None = None  # required by a stage
    batch_size: int | None = None  # required by a stage
    device: str = "auto"
    schedule: Schedule = Schedule()
    binary: BinarySpec = BinarySpec()
    optimizer: Component = Component("adam", {"lr": 1e-3})
    lr_schedule: Component = Component("constant")
    loss: LossSpec = LossSpec()
    augment: Augment = Augment()
    amp: str = "none"
    channels_last: bool = False
    distributed: Distributed = Distributed()
    threads: int = 1
    workers: int | None = None  # None: min(8, CPUs) DataLoader processes for a streamed dataset
    compile: bool = False
    progress: Progress = Progress()

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(Settings)]

    @classmethod
    def values(cls, setting: dict, key: str) -> dict:
        """The typed value of each key of ``setting`` (a config level's mapping); unknown keys are refused."""
        check_keys(setting, Settings.keys(), key, "setting")
        return {name: PARSERS[name](value, f"{key}.{name}" if key else name) for name, value in setting.items()}

    @classmethod
    def parse(cls, setting: dict, key: str) -> Settings:
        return cls(**cls.values(setting, key))

    def settings_dict(self) -> dict:
        return {name: to_plain(getattr(self, name)) for name in Settings.keys()}


@dataclass(frozen=True)
class RunId:
    """Which run a stage belongs to: its folder ``{dataset}/{model}/{method}/seed{seed}/{stage}``."""

    dataset: str
    model: str
    method: str
    seed: int
    stage: str

    @property
    def label(self) -> str:
        return f"{self.dataset}/{self.model}/{self.method}/{self.seed}/{self.stage}"


IDENTITY_KEYS = ("run", "seed", "data", "model", "init", "teacher")


@dataclass(frozen=True, kw_only=True)
class StageSpec(Settings):
    """One training stage, fully resolved (docs/architecture.md: a stage = one job = one ``bnn train``)."""

    run: RunId
    seed: int
    data: str
    model: ModelSpec
    init: str | None = None
    teacher: str | None = None

    @classmethod
    def parse(cls, spec: dict, key: str = "spec") -> StageSpec:
        """A stage from its mapping (``spec.yaml``, or the plan's merged settings plus identity)."""
        spec = mapping(spec, key)
        check_keys(spec, [*IDENTITY_KEYS, *Settings.keys()], key)
        for required in ("run", "data", "model", "epochs", "batch_size"):
            if spec.get(required) is None:
                raise BnnError(f"{key}.{required}: missing; set it (epochs and batch_size in train: or the recipe)")
        run = mapping(spec["run"], f"{key}.run")
        check_keys(run, [f.name for f in fields(RunId)], f"{key}.run")
        settings = cls.values({k: v for k, v in spec.items() if k not in IDENTITY_KEYS}, key)
        return cls(
            run=RunId(**{**run, "seed": int(run.get("seed", spec.get("seed", 0)))}),
            seed=integer(spec.get("seed", 0), f"{key}.seed", 0),
            data=str(spec["data"]),
            model=ModelSpec.parse(spec["model"], f"{key}.model"),
            init=spec.get("init"),
            teacher=spec.get("teacher"),
            **settings,
        )

    def to_dict(self) -> dict:
        """The human-readable mapping of ``spec.yaml``: identity first, then every setting, defaults explicit."""
        return {
            "run": dataclasses.asdict(self.run),
            "seed": self.seed,
            "data": self.data,
            "model": self.model.to_dict(),
            "init": self.init,
            "teacher": self.teacher,
            **self.settings_dict(),
        }

    def result_dict(self) -> dict:
        """``to_dict`` without the speed-only keys: what the stage computes (Snakemake params, resume digest)."""
        return {k: v for k, v in self.to_dict().items() if k not in SPEED_KEYS}

    def with_speed(self, **speed: Any) -> StageSpec:
        """This stage with speed-only settings replaced (``bnn train --threads``, the workflow's speed settings)."""
        return dataclasses.replace(self, **Settings.values(speed, "speed"))


def to_plain(value: Any) -> Any:
    """A setting's value as plain YAML data."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return value
