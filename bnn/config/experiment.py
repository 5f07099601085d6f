"""The whole experiment config, parsed once: ``config.yaml`` plus overlays (``scale`` merged first), every key
checked against its declaration (:mod:`bnn.config.fields`), into an :class:`ExperimentConfig`.

Training settings stay mappings per level (``train``, each recipe, each stage), each checked here in full, because
a stage's settings are those levels merged (:func:`bnn.config.files.merge`) and parsed into a
:class:`~bnn.config.spec.StageSpec` by the plan. A recipe's ``datasets``/``models`` overrides are the exception: they
may be partial (e.g. ``schedule.weights.epochs_per_layer`` alone), so only their keys are checked here and the plan
checks the merged stages.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bnn.config.fields import (
    NAME,
    Boolean,
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
from bnn.config.files import apply_scale
from bnn.config.keys import check_keys
from bnn.config.sections import CompareSettings, DeploySettings
from bnn.config.spec import MODEL_SPEC, ModelSpec, Settings
from bnn.data.datasets import DatasetOptions
from bnn.errors import BnnError

OVERRIDE_KEYS = ("teacher", "stages", *Settings.keys())  # what a recipe's datasets.<name>/models.<name> may set


@dataclass(frozen=True)
class Level(Field):
    """A level of training settings (``train``, a recipe, a stage) with its own keys: every setting is checked
    in full; the value stays a mapping, to be merged with the levels above it."""

    own: dict = field(default_factory=dict)  # key -> Field of the level's own keys (a stage's name, ...)
    required: tuple[str, ...] = ()
    description: str = ""

    def keys(self) -> list[str]:
        return [*self.own, *Settings.keys()]

    def form(self) -> str:
        return f"a mapping of settings ({', '.join(self.keys())})"

    def parse(self, value: Any, key: str) -> dict:
        value = {} if value is None else value
        if not isinstance(value, dict):
            raise BnnError(f"{key}: {value!r} must be {self.form()}")
        check_keys(value, self.keys(), key)
        for name in self.required:
            if value.get(name) is None:
                raise BnnError(f"{key}.{name}: missing; set it ({self.own[name].form()})")
        Settings.values({k: v for k, v in value.items() if k not in self.own}, key)
        for name, declared in self.own.items():
            if name in value:
                declared.parse(value[name], f"{key}.{name}")
        return copy.deepcopy(value)

    def json_schema(self) -> dict:
        settings = {name: {"$ref": f"#/$defs/settings/{name}"} for name in Settings.keys()}  # ExperimentConfig's
        properties = {**settings, **{k: f.schema() for k, f in self.own.items()}}
        schema: dict = {"type": "object", "additionalProperties": False, "properties": properties}
        return {**schema, "required": list(self.required)} if self.required else schema

    def examples(self) -> tuple[list, list]:
        valid = {name: self.own[name].examples()[0][0] for name in self.required}
        return [valid], ["x", {**valid, "no_such_key": 1}]


@dataclass(frozen=True)
class Restriction(Field):
    """A recipe's ``datasets`` or ``models``: a list of names, or names -> recipe keys merged over the recipe."""

    description: str = ""

    def form(self) -> str:
        return "a list of names or a mapping name -> recipe overrides"

    def parse(self, value: Any, key: str) -> dict:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return dict.fromkeys(value)
        if not isinstance(value, dict):
            raise BnnError(f"{key}: {value!r} must be {self.form()}")
        for name, overrides in value.items():
            if overrides is not None and not isinstance(overrides, dict):
                raise BnnError(f"{key}.{name}: {overrides!r} must be a mapping of recipe overrides")
            check_keys(
                overrides or {},
                [*OVERRIDE_KEYS, *(["datasets"] if key.endswith(".models") else [])],
                f"{key}.{name}",
                "recipe override",
            )
        return {name: overrides or {} for name, overrides in value.items()}

    def json_schema(self) -> dict:
        return {
            "oneOf": [
                {"type": "array", "items": {"type": "string"}},
                {
                    "type": "object",
                    "description": "name -> recipe keys merged over the recipe (may be partial, e.g. "
                    "schedule.weights.epochs_per_layer alone; the plan checks the merged stages)",
                    "additionalProperties": {"type": ["object", "null"]},
                },
            ]
        }

    def examples(self) -> tuple[list, list]:
        return [["a", "b"], {"a": None, "b": {"epochs": 2}}], ["a", [3]]


@dataclass(frozen=True)
class Teacher(Section):
    """``teacher: {recipe, model}``: the teacher's recipe and its own model_specs key."""

    required: ClassVar[tuple[str, ...]] = ("recipe",)

    recipe: str | None = setting(None, NAME, "the teacher's recipe")
    model: str | None = setting(None, NAME, "the teacher's model_specs key (default the student's)")


TEACHER = OneOf(
    (Text(NAME.pattern, NAME.pattern_form, nullable=True), Nested(section=Teacher)),
    "a recipe whose final checkpoint (same dataset, model, seed) is the KD teacher, or {recipe, model} for a "
    "teacher of another model_specs key",
    "a recipe name or {recipe: NAME, model: MODEL_KEY}",
)
STAGE = Level(
    {
        "name": Text(r"^[A-Za-z0-9_.-]+$", "a stage name of letters, digits, _ . -"),
        "init": Text(description="an earlier stage of the same recipe to initialise every parameter from"),
    },
    ("name",),
)
RECIPE = Level(
    {
        "teacher": TEACHER,
        "stages": ListOf(STAGE, description="the recipe's stages, each one job"),
        "per_layer": Boolean(description="sensitivity pre-training, one stage per layer with only that layer binary"),
        "datasets": Restriction(
            "run this recipe only on these datasets (default every selected one); a mapping gives each its recipe "
            "overrides (training settings, teacher, stages)"
        ),
        "models": Restriction(
            "run this recipe only on these model_specs keys (default every selected one); a mapping gives each its "
            "recipe overrides (e.g. a paper's per-model epochs and lr)"
        ),
        "figures": ListOf(NAME, 0, "figures this recipe also appears in, e.g. [optimizers]"),
    },
    ("stages",),
)


@dataclass(frozen=True)
class Split(Section):
    """The fixed, seeded, stratified train/validation split of every dataset."""

    required: ClassVar[tuple[str, ...]] = ("seed", "val_size")

    seed: int = setting(0, Integer(0), "seed of the split")
    val_size: float = setting(
        0.15, Number(0, exclusive_minimum=True), "validation hold-out from train, a count (>= 1) or a fraction (< 1)"
    )


class AnyMapping(Field):
    """Any mapping (a ``scales`` overlay: its keys are checked once it is merged over the config)."""

    def form(self) -> str:
        return "a mapping"

    def parse(self, value: Any, key: str) -> dict:
        if not isinstance(value, dict):
            raise BnnError(f"{key}: {value!r} must be {self.form()}")
        return value

    def json_schema(self) -> dict:
        return {"type": "object"}

    def examples(self) -> tuple[list, list]:
        return [{}], ["x"]


@dataclass(frozen=True, kw_only=True)
class ExperimentConfig(Section):
    """``config.yaml``: what to run (every dataset x model x method x seed), the data, the models, the training
    defaults, the recipes, and the deploy and compare sections."""

    required: ClassVar[tuple[str, ...]] = (
        "datasets",
        "models",
        "methods",
        "seeds",
        "data_root",
        "split",
        "model_specs",
        "train",
        "recipes",
    )

    datasets: tuple[str, ...] = setting((), ListOf(NAME), "datasets to run (bnn.data registry names)")
    models: tuple[str, ...] = setting((), ListOf(NAME), "keys of model_specs to run")
    methods: tuple[str, ...] = setting((), ListOf(NAME), "names of recipes to run")
    seeds: tuple[int, ...] = setting((), ListOf(Integer(0)), "training seeds")
    scale: str | None = setting(
        None, Text(nullable=True), "name of an overlay in scales merged over this config (e.g. --config scale=smoke)"
    )
    scales: dict = setting({}, MapOf(AnyMapping()), "named overlays of this config (mappings merge, lists replace)")
    data_root: str = setting("data", Text(), "folder holding raw datasets")
    split: Split = setting(Split(), Nested(section=Split), "the train/validation split")
    dataset_options: dict = setting(
        {}, MapOf(Nested(section=DatasetOptions, partial=True)), "per-dataset options, keyed by dataset name"
    )
    deploy: DeploySettings = setting(
        DeploySettings(),
        Nested(section=DeploySettings),
        "bnn deploy of every evaluated run: OpenVINO IR + ONNX, verified on the test split, timed",
    )
    compare: CompareSettings = setting(
        CompareSettings(),
        Nested(section=CompareSettings),
        "paired comparisons of every method against the baseline recipe(s), same dataset, model, seeds and test images",
    )
    model_specs: dict[str, ModelSpec] = setting({}, MapOf(MODEL_SPEC), "model keys -> architecture and options")
    train: dict = setting({}, Level(), "training defaults of every stage (a recipe, then a stage, override them)")
    recipes: dict[str, dict] = setting({}, MapOf(RECIPE), "methods: each a named list of stages")
    source: dict = field(default_factory=dict, repr=False, compare=False)  # the mapping parsed (scale merged)

    @classmethod
    def parse(cls, value: Any, key: str | None = None) -> ExperimentConfig:
        """The config with ``scales[scale]`` merged over it (once), every key checked."""
        if not isinstance(value, dict):
            raise BnnError(f"config: expected a mapping of settings, got {type(value).__name__}")
        merged = apply_scale(value)
        return dataclasses.replace(super().parse(merged, ""), source=merged)

    def cross_check(self, key: str) -> None:
        if not self.recipes:
            raise BnnError("recipes: no recipe; define at least one, e.g. recipes: {float: {stages: [{name: train}]}}")

    @classmethod
    def json_schema(cls) -> dict:
        schema = super().json_schema()
        schema["properties"]["recipes"]["minProperties"] = 1
        return {**schema, "$defs": {"settings": Settings.json_schema()["properties"]}}
