"""Recipe resolution: from the config's ``recipes`` to each experiment's stage settings (docs/architecture.md).

A recipe (``recipes.<method>``) holds settings, a list of ``stages``, an optional ``teacher`` and
``per_layer`` flag, and may be restricted to some ``datasets``/``models``: a list of names, or a mapping
from a name to recipe keys merged over the recipe there (a paper's per-model epochs or lr; a
``models.<key>`` entry may restrict ``datasets`` further). A stage's settings are the config's ``train``,
overridden by the recipe's, then by the stage's (:func:`bnn.config.files.merge`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from bnn.config.experiment import ExperimentConfig
from bnn.config.files import merge
from bnn.config.keys import did_you_mean
from bnn.config.spec import ModelSpec, Settings
from bnn.errors import BnnError


@dataclass(frozen=True)
class Recipe:
    """One method's recipe as it applies to one dataset and model (its overrides merged)."""

    method: str
    settings: dict  # train defaults with the recipe's settings merged over them
    stages: tuple[dict, ...]
    teacher: tuple[str, str] | None  # (recipe, model key)
    per_layer: bool
    figures: tuple[str, ...]  # figures this recipe also appears in (e.g. the optimizers' baseline)


class Recipes:
    """The config's recipes (each level already checked by :class:`ExperimentConfig`), looked up with one-line
    errors naming the config key."""

    def __init__(self, config: ExperimentConfig):
        self.recipes: dict = config.recipes
        self.train: dict = config.train
        self.model_specs: dict[str, ModelSpec] = config.model_specs

    def raw(self, method: str, key: str) -> dict:
        if method not in self.recipes:
            raise BnnError(
                f"{key}: unknown recipe {method!r}{did_you_mean(method, list(self.recipes))}; define "
                f"recipes.{method} or use one of: {', '.join(sorted(self.recipes))}"
            )
        return self.recipes[method]

    def model_spec(self, model: str, key: str = "models") -> ModelSpec:
        if model not in self.model_specs:
            raise BnnError(
                f"{key}: {model!r} has no entry in model_specs{did_you_mean(model, list(self.model_specs))}"
                f"; define model_specs.{model}.arch"
            )
        return self.model_specs[model]

    def _restriction(self, recipe: dict, method: str, key: str) -> dict | None:
        """A recipe's ``datasets``/``models`` as {name: overrides}; None when unrestricted."""
        allowed = recipe.get(key)
        if allowed is None:
            return None
        allowed = dict.fromkeys(allowed) if isinstance(allowed, list) else allowed
        if key == "models":
            for name in allowed:
                self.model_spec(name, f"recipes.{method}.{key}")
        return {name: overrides or {} for name, overrides in allowed.items()}

    def applies(self, method: str, dataset: str, model: str) -> dict | None:
        """The recipe with its ``models.<model>`` then ``datasets.<dataset>`` overrides merged over it, or None
        when it does not run on this dataset and model (e.g. SD-BNN only on conv models)."""
        recipe = self.raw(method, "methods")
        for key, name in (("models", model), ("datasets", dataset)):
            allowed = self._restriction(recipe, method, key)
            if allowed is not None:
                if name not in allowed:
                    return None
                recipe = merge(recipe, allowed[name])
        return recipe

    def resolve(self, method: str, dataset: str, model: str) -> Recipe:
        """The recipe for one experiment; a teacher or sensitivity recipe asked for outside its restriction
        applies unrestricted."""
        recipe = self.applies(method, dataset, model) or self.raw(method, f"recipes.{method}")
        stages = recipe["stages"]
        settings = merge(self.train, {k: v for k, v in recipe.items() if k in Settings.keys()})
        teacher = self._teacher(method, recipe["teacher"], model) if recipe.get("teacher") else None
        figures = recipe.get("figures") or []
        return Recipe(method, settings, tuple(stages), teacher, bool(recipe.get("per_layer")), tuple(figures))

    def _teacher(self, method: str, teacher, model: str) -> tuple[str, str]:
        """(teacher recipe, teacher model key): ``teacher: RECIPE`` (same model) or ``{recipe, model}``
        (a model of its own, e.g. AdamBNN's ResNet-34, docs/methods.md §4.2)."""
        key = f"recipes.{method}.teacher"
        if isinstance(teacher, dict):
            recipe, model = teacher["recipe"], teacher.get("model", model)
            self.model_spec(model, f"{key}.model")
        else:
            recipe = teacher
        self.raw(recipe, key)
        if recipe == method:
            raise BnnError(f"{key}: a recipe cannot be its own teacher")
        return recipe, model


def stage_settings(recipe: Recipe, stage: dict) -> dict:
    """A stage's settings: the recipe's settings with the stage's merged over them."""
    return merge(recipe.settings, {k: v for k, v in stage.items() if k in Settings.keys()})


def per_layer_stages(recipe: Recipe, n_layers: int) -> list[dict]:
    """Sensitivity pre-training (docs/methods.md §5.3): the recipe's one stage, repeated for every controlled layer
    k as stage ``layer{k}`` in which only layer k's weights are binary."""
    key = f"recipes.{recipe.method}.stages"
    if len(recipe.stages) != 1:
        raise BnnError(f"{key}: a per_layer recipe has exactly one stage, the template of every layer's stage")
    template = recipe.stages[0]
    own = (template.get("schedule") or {}).get("weights", "binary")
    if own != "binary":
        raise BnnError(
            f"{key}[0].schedule.weights: {own!r}; a per_layer recipe sets it per layer itself: "
            "leave it out or write binary"
        )
    schedule = stage_settings(recipe, template).get("schedule") or {}
    stages = []
    for k in range(1, n_layers + 1):
        stage = copy.deepcopy(template)
        stage["name"] = f"layer{k:0{len(str(n_layers))}d}"
        stage["schedule"] = {**schedule, "weights": {"only": k}}
        stages.append(stage)
    return stages
