"""The typed stage spec: what one training stage computes, parsed and validated once, every default here.

A stage spec is the config's ``train`` defaults, overridden by a recipe, then by a stage (:mod:`bnn.config.recipes`),
plus the stage's identity and files (run, seed, data, model, init, teacher). :class:`Settings` is the part a
config level may set; :class:`StageSpec` is a whole stage. ``to_dict`` gives the human-readable mapping that
``spec.yaml`` holds and ``bnn train --spec`` reads back; ``result_dict`` leaves out the speed-only keys
(``SPEED_KEYS``), which never change what a stage computes, so changing them re-runs nothing.

Every key is declared once, with its type, range, default and meaning (:func:`bnn.config.fields.setting`); the
workflow's schema is generated from these declarations. Names (models, estimators, optimizers, loss terms) are
checked where they are built (:mod:`bnn.plan.checks`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from bnn.config.fields import (
    NAME,
    Boolean,
    Choice,
    Field,
    Integer,
    ListOf,
    MapOf,
    Nested,
    Number,
    OneOf,
    Section,
    Text,
    setting,
)
from bnn.config.keys import check_keys
from bnn.config.schedule import Schedule
from bnn.data.augment import Augment
from bnn.errors import BnnError

SPEED_KEYS = ("threads", "workers", "compile", "progress")  # how fast a stage runs, not what it computes
AMP = ("none", "bf16", "binary_bf16")
DISTRIBUTED_BACKENDS = ("auto", "nccl", "gloo")
DEVICE = Text(r"^(cpu|auto|cuda(:[0-9]+)?)$", "a device: cpu, cuda, cuda:N or auto", example="cuda:1")


@dataclass(frozen=True)
class Distributed(Section):
    """A stage's ``distributed`` setting (its fit with the batch size and device is a stage check,
    :mod:`bnn.plan.checks`)."""

    nproc: int = setting(1, Integer(1), "processes (one GPU each on CUDA)")
    backend: str = setting("auto", Choice(DISTRIBUTED_BACKENDS), "auto: nccl on CUDA, gloo on CPU")


@dataclass(frozen=True)
class Component:
    """A named, configured part, ``{name: NAME, option: value, ...}`` (an optimizer, an lr schedule, an
    estimator); a bare ``NAME`` has no options."""

    name: str
    options: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any, key: str, default_name: str | None = None) -> Component:
        return ComponentField(default_name).parse(value, key)

    def to_dict(self) -> dict:
        return {"name": self.name, **self.options}

    def to_value(self) -> str | dict:
        """The bare name when there are no options (how a config writes an estimator)."""
        return self.to_dict() if self.options else self.name


@dataclass(frozen=True)
class ComponentField(Field):
    """A :class:`Component`: ``NAME`` or ``{name: NAME, option: value}``. The options declared here are checked
    here; any other option goes to the part's constructor, which names what it accepts."""

    default_name: str | None = None
    options: dict = field(default_factory=dict)
    description: str = ""

    def form(self) -> str:
        return "a name or a mapping {name: NAME, option: value}" + (
            f" (name defaults to {self.default_name})" if self.default_name else ""
        )

    def parse(self, value: Any, key: str) -> Component:
        if isinstance(value, str):
            return Component(value)
        if not isinstance(value, dict) or ("name" not in value and self.default_name is None):
            raise BnnError(f"{key}: {value!r} must be {self.form()}")
        name = value.get("name", self.default_name)
        if not isinstance(name, str):
            raise BnnError(f"{key}.name: {name!r} must be a name")
        options = {k: v for k, v in value.items() if k != "name"}
        for option, declared in self.options.items():
            if option in options:
                declared.parse(options[option], f"{key}.{option}")
        return Component(name, options)

    def json_schema(self) -> dict:
        mapping: dict = {
            "type": "object",
            "properties": {"name": {"type": "string"}, **{k: f.schema() for k, f in self.options.items()}},
        }
        if self.default_name is None:
            mapping["required"] = ["name"]
        return {"oneOf": [{"type": "string"}, mapping]}

    def examples(self) -> tuple[list, list]:
        return ["some_name", {"name": "some_name"}], [3, {"name": 3}, *([{}] if self.default_name is None else [])]


@dataclass(frozen=True)
class ParameterGroup(Section):
    """Per-group optimizer options (``optimizer.groups.<group>``, :mod:`bnn.optim.stage`)."""

    lr: float | None = setting(None, Number(0), "learning rate of the group (0 freezes it)")
    weight_decay: float | None = setting(None, Number(0), "weight decay of the group")


OPTIMIZER = ComponentField(
    "adam",
    {
        "lr": Number(0, description="learning rate"),
        "weight_decay": Number(0, description="weight decay"),
        "momentum": Number(0, maximum=1, exclusive_maximum=True, description="SGD momentum"),
        "groups": MapOf(Nested(section=ParameterGroup), description="options per parameter group"),
    },
    "an optimizer of bnn.optim (adam, sgd, bop, ...) and its options",
)
LR_SCHEDULE = ComponentField(
    "constant",
    {
        "warmup": Integer(0, description="linear warm-up epochs"),
        "gamma": OneOf(
            (Number(0, exclusive_minimum=True), ListOf(Number(0, exclusive_minimum=True))),
            "the factor at each milestone, or one factor per milestone",
        ),
        "milestones": ListOf(Integer(1), min_items=0, description="epochs at which the lr is multiplied by gamma"),
    },
    "an lr schedule of bnn.optim.lr (constant, cosine, linear, step, ...) and its options",
)
ESTIMATOR = ComponentField(None, {}, "an estimator name, or {name: NAME, option: value} (e.g. {name: ede, t_min: 0.1})")


@dataclass(frozen=True)
class BinarySpec(Section):
    """How binary layers binarize (docs/methods.md §0.1–0.3, §3.2): conv type, estimators, scaling, sign(0)."""

    conv: str = setting("standard", NAME, "binary conv type: standard, or self_distribution (SD-BNN, §3.2)")
    weight_estimator: Component = setting(Component("clipped_ste"), ESTIMATOR, "the weights' sign and its gradient")
    act_estimator: Component = setting(Component("clipped_ste"), ESTIMATOR, "the activations' sign and its gradient")
    scaling: str = setting("none", NAME, "scale of the binary weights (none, channel_mean, ...)")
    sign_zero: str = setting("plus", Choice(("plus", "zero")), "sign(0): plus (+1) or zero (0, sign0)")

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
        return {k: v for k, v in self.to_dict().items() if k != "conv"}


@dataclass(frozen=True)
class Term:
    """One weighted term of a loss: ``name: weight`` or ``name: {weight: w, option: value}``."""

    name: str
    weight: float
    options: dict = field(default_factory=dict)


TERM_WEIGHT = Number(0, description="the term's weight in the sum")
TERM_OPTIONS = {"temperature": Number(0, exclusive_minimum=True, description="softmax temperature")}


@dataclass(frozen=True)
class LossSpec:
    """A loss as a weighted sum of named terms (:mod:`bnn.losses`), e.g. ``{ce: 1.0}`` or Hinton KD as
    ``{kd: {weight: 0.9, temperature: 4.0}, ce: 0.1}`` (docs/methods.md §0.6)."""

    terms: tuple[Term, ...] = (Term("ce", 1.0),)

    @classmethod
    def parse(cls, value: Any, key: str) -> LossSpec:
        return LossField().parse(value, key)

    def to_dict(self) -> dict:
        return {t.name: {"weight": t.weight, **t.options} if t.options else t.weight for t in self.terms}


@dataclass(frozen=True)
class LossField(Field):
    description: str = (
        "a weighted sum of named terms, term: weight or term: {weight: w, option: value}, e.g. "
        "{kd: {weight: 0.9, temperature: 4.0}, ce: 0.1}; terms: ce, kd, distributional, skd_features, "
        "skd_labels, skd_cluster"
    )

    def form(self) -> str:
        return "a mapping term: weight (>= 0) or term: {weight: w, option: value}, e.g. {ce: 1.0}"

    def parse(self, value: Any, key: str) -> LossSpec:
        if not isinstance(value, dict) or not value:
            raise BnnError(f"{key}: {value!r} must be {self.form()}")
        terms = []
        for name, setting_ in value.items():
            where = f"{key}.{name}"
            options = dict(setting_) if isinstance(setting_, dict) else {"weight": setting_}
            weight = TERM_WEIGHT.parse(
                options.pop("weight", 1.0), f"{where}.weight" if isinstance(setting_, dict) else where
            )
            for option, declared in TERM_OPTIONS.items():
                if option in options:
                    declared.parse(options[option], f"{where}.{option}")
            terms.append(Term(str(name), float(weight), options))
        return LossSpec(tuple(terms))

    def json_schema(self) -> dict:
        term = {
            "type": "object",
            "properties": {"weight": TERM_WEIGHT.schema(), **{k: f.schema() for k, f in TERM_OPTIONS.items()}},
        }
        return {"type": "object", "minProperties": 1, "additionalProperties": {"oneOf": [TERM_WEIGHT.schema(), term]}}

    def examples(self) -> tuple[list, list]:
        valid = [{"ce": 1.0}, {"kd": {"weight": 0.9, "temperature": 4.0}, "ce": 0.1}, {"ce": 0}]
        invalid = [{}, "ce", {"ce": -1.0}, {"ce": "x"}, {"kd": {"weight": -0.5}}, {"kd": {"temperature": 0}}]
        return valid, invalid


@dataclass(frozen=True)
class Progress(Section):
    """Progress within an epoch: a tqdm bar on a terminal, else a line every ``interval`` seconds (0: none)."""

    interval: float = setting(30.0, Number(0), "seconds between progress lines off a terminal (0: none)")

    def to_dict(self) -> dict:
        return {"interval": float(self.interval)}


@dataclass(frozen=True)
class ModelSpec:
    """A model_specs entry: architecture name and its options (:mod:`bnn.models`)."""

    arch: str
    options: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any, key: str) -> ModelSpec:
        return ModelSpecField().parse(value, key)

    def to_dict(self) -> dict:
        return {"arch": self.arch, **self.options}


@dataclass(frozen=True)
class ModelSpecField(Field):
    description: str = "an architecture of bnn.models and its options, e.g. {arch: mlp, hidden: [256, 256]}"

    def form(self) -> str:
        return "a mapping {arch: NAME, option: value}"

    def parse(self, value: Any, key: str) -> ModelSpec:
        if not isinstance(value, dict):
            raise BnnError(f"{key}: {value!r} must be {self.form()}")
        if "arch" not in value:
            raise BnnError(f"{key}.arch: missing; name an architecture of bnn.models, e.g. arch: mlp")
        if not isinstance(value["arch"], str):
            raise BnnError(f"{key}.arch: {value['arch']!r} must be an architecture name, e.g. mlp")
        return ModelSpec(value["arch"], {k: v for k, v in value.items() if k != "arch"})

    def json_schema(self) -> dict:
        return {"type": "object", "required": ["arch"], "properties": {"arch": {"type": "string"}}}

    def examples(self) -> tuple[list, list]:
        return [{"arch": "mlp"}, {"arch": "mlp", "hidden": [8]}], [{}, "mlp", {"arch": 3}]


MODEL_SPEC = ModelSpecField()


@dataclass(frozen=True, kw_only=True)
class Settings(Section):
    """What ``train``, a recipe or a stage may set; each field's default is the one default of that key."""

    epochs: int | None = setting(None, Integer(1, nullable=True), "training epochs (required by a stage)")
    batch_size: int | None = setting(None, Integer(1, nullable=True), "training batch (required by a stage)")
    device: str = setting("auto", DEVICE, "where the stage trains: cpu, cuda, cuda:N or auto")
    schedule: Schedule = setting(Schedule(), Nested(section=Schedule), "which layers are binary when")
    binary: BinarySpec = setting(BinarySpec(), Nested(section=BinarySpec), "how binary layers binarize")
    optimizer: Component = setting(Component("adam", {"lr": 1e-3}), OPTIMIZER)
    lr_schedule: Component = setting(Component("constant"), LR_SCHEDULE)
    loss: LossSpec = setting(LossSpec(), LossField())
    augment: Augment = setting(
        Augment(), Nested(section=Augment), "batched on-device training augmentation (val/test never augmented)"
    )
    amp: str = setting(
        "none",
        Choice(AMP),
        "none; bf16: the forward under torch.autocast (CPU and CUDA); binary_bf16: only the W1/A1 products in bfloat16",
    )
    channels_last: bool = setting(False, Boolean(), "NHWC memory format for model and inputs")
    distributed: Distributed = setting(
        Distributed(),
        Nested(section=Distributed),
        "one stage as nproc processes (torchrun + DistributedDataParallel); batch_size is the global batch",
    )
    threads: int = setting(1, Integer(1), "torch CPU threads of the stage")
    workers: int | None = setting(
        None, Integer(0, nullable=True), "DataLoader processes of a streamed dataset (null: min(8, CPUs))"
    )
    compile: bool = setting(False, Boolean(), "torch.compile the forward")
    progress: Progress = setting(Progress(), Nested(section=Progress), "progress within an epoch")

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
    """One training stage, fully resolved: one job, one ``bnn train`` (docs/architecture.md, "A stage per job")."""

    run: RunId
    seed: int
    data: str
    model: ModelSpec
    init: str | None = None
    teacher: str | None = None

    @classmethod
    def parse(cls, spec: dict, key: str = "spec") -> StageSpec:
        """A stage from its mapping (``spec.yaml``, or the plan's merged settings plus identity)."""
        if not isinstance(spec, dict):
            raise BnnError(f"{key}: {spec!r} must be a mapping (a stage spec, e.g. a run's spec.yaml)")
        check_keys(spec, [*IDENTITY_KEYS, *Settings.keys()], key)
        for required in ("run", "data", "model", "epochs", "batch_size"):
            if spec.get(required) is None:
                raise BnnError(f"{key}.{required}: missing; set it (epochs and batch_size in train: or the recipe)")
        run = spec["run"]
        if not isinstance(run, dict):
            raise BnnError(f"{key}.run: {run!r} must be a mapping {{dataset, model, method, seed, stage}}")
        check_keys(run, [f.name for f in fields(RunId)], f"{key}.run")
        settings = Settings.values({k: v for k, v in spec.items() if k not in IDENTITY_KEYS}, key)
        seed = Integer(0).parse(spec.get("seed", 0), f"{key}.seed")
        return cls(
            run=RunId(**{**run, "seed": int(run.get("seed", seed))}),
            seed=seed,
            data=str(spec["data"]),
            model=MODEL_SPEC.parse(spec["model"], f"{key}.model"),
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
