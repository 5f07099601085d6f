"""From config to plan: experiments (dataset x model x method x seed) and their stages (DESIGN.md).

Pure Python, no Snakemake: the workflow asks the plan which jobs exist, what each stage's fully
resolved spec is, and which files each stage reads. The plan also runs the semantic checks that
must fail before any job starts (unknown names, impossible schedules, a KD loss without teacher).

Config shape (see config.yaml): selection lists ``datasets``, ``models``, ``methods``, ``seeds``;
definitions ``model_specs`` (key -> arch + options) and ``recipes`` (name -> stages); ``train``
holds the defaults every stage starts from, overridden by the recipe, then by the stage.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bnn.data.datasets import DATASETS
from bnn.errors import BnnError
from bnn.losses import build_loss
from bnn.models import build
from bnn.nn import binary_layers, configure_binary
from bnn.optim import build_lr_schedule, build_optimizer
from bnn.schedule import Schedule

TRAIN_KEYS = ("epochs", "batch_size", "device", "threads", "optimizer", "lr_schedule", "loss", "binary",
              "schedule")
RESULTS = "results"


def merge(base: Any, override: Any) -> Any:
    """Deep-merge ``override`` into ``base``; a mapping whose ``name`` changes replaces instead of merging
    (so switching ``optimizer: {name: sgd}`` drops Adam's options)."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    if "name" in override and override["name"] != base.get("name"):
        return copy.deepcopy(override)
    merged = copy.deepcopy(base)
    for key, value in override.items():
        merged[key] = merge(merged[key], value) if key in merged else copy.deepcopy(value)
    return merged


def data_dir(dataset: str) -> str:
    return f"{RESULTS}/data/{dataset}"


def run_dir(dataset: str, model: str, method: str, seed: int, stage: str) -> str:
    return f"{RESULTS}/runs/{dataset}/{model}/{method}/seed{seed}/{stage}"


@dataclass(frozen=True)
class Stage:
    dataset: str
    model: str
    method: str
    seed: int
    name: str
    spec: dict

    @property
    def dir(self) -> str:
        return run_dir(self.dataset, self.model, self.method, self.seed, self.name)

    def inputs(self) -> dict[str, str]:
        """Files this stage reads: prepared data, and the init/teacher checkpoints when it has them."""
        files = {"meta": f"{self.spec['data']}/meta.json", "train": f"{self.spec['data']}/train.pt",
                 "val": f"{self.spec['data']}/val.pt"}
        for key in ("init", "teacher"):
            if self.spec.get(key):
                files[key] = self.spec[key]
        return files


class Plan:
    def __init__(self, config: dict):
        self.config = config
        self._stages: dict[tuple, Stage] = {}
        self._recipe_stages: dict[tuple, list[Stage]] = {}
        self.experiments: list[tuple[str, str, str, int]] = []
        for dataset in self._selected("datasets"):
            DATASETS.get(dataset, "datasets")
            for model in self._selected("models"):
                self._model_spec(model)
                for method in self._selected("methods"):
                    self._recipe(method, "methods")
                    for seed in self._selected("seeds"):
                        self.experiments.append((dataset, model, method, int(seed)))
        for experiment in self.experiments:
            self._add_recipe(*experiment)

    # ---- config access with one-line errors -------------------------------------------------
    def _selected(self, key: str) -> list:
        values = self.config.get(key)
        if not isinstance(values, list) or not values:
            raise BnnError(f"{key}: must be a non-empty list")
        return values

    def _model_spec(self, model: str) -> dict:
        specs = self.config.get("model_specs", {})
        if model not in specs:
            raise BnnError(f"models: {model!r} has no entry in model_specs; define model_specs.{model}.arch")
        return specs[model]

    def _recipe(self, method: str, key: str) -> dict:
        recipes = self.config.get("recipes", {})
        if method not in recipes:
            import difflib

            close = difflib.get_close_matches(method, list(recipes), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise BnnError(f"{key}: unknown recipe {method!r}{hint}; define recipes.{method} or use one of: "
                           f"{', '.join(sorted(recipes))}")
        return recipes[method]

    # ---- stages ------------------------------------------------------------------------------
    def _add_recipe(self, dataset: str, model: str, method: str, seed: int) -> list[Stage]:
        """Resolve every stage of ``method`` (and of its teacher's recipe) for one experiment."""
        if (dataset, model, method, seed) in self._recipe_stages:
            return self._recipe_stages[(dataset, model, method, seed)]
        recipe = self._recipe(method, f"recipes.{method}")
        stages_cfg = recipe.get("stages")
        if not isinstance(stages_cfg, list) or not stages_cfg:
            raise BnnError(f"recipes.{method}.stages: must be a non-empty list of stages")
        teacher_path = None
        if recipe.get("teacher"):
            teacher = recipe["teacher"]
            self._recipe(teacher, f"recipes.{method}.teacher")
            if teacher == method:
                raise BnnError(f"recipes.{method}.teacher: a recipe cannot be its own teacher")
            teacher_path = f"{self._add_recipe(dataset, model, teacher, seed)[-1].dir}/checkpoint.pt"
        self._check_settings(self.config.get("train", {}), dataset, model, "train")
        defaults = merge(self.config.get("train", {}), {k: v for k, v in recipe.items() if k in TRAIN_KEYS})
        self._check_settings(defaults, dataset, model, f"recipes.{method}")
        resolved: list[Stage] = []
        for i, stage_cfg in enumerate(stages_cfg):
            key = f"recipes.{method}.stages[{i}]"
            resolved.append(self._stage(dataset, model, method, seed, stage_cfg, defaults, resolved,
                                        teacher_path, key))
        self._recipe_stages[(dataset, model, method, seed)] = resolved
        for stage in resolved:
            self._stages[(dataset, model, method, seed, stage.name)] = stage
        return resolved

    def _stage(self, dataset, model, method, seed, cfg, defaults, earlier, teacher_path, key) -> Stage:
        if not isinstance(cfg, dict) or not cfg.get("name"):
            raise BnnError(f"{key}.name: every stage needs a name")
        name = str(cfg["name"])
        unknown = sorted(set(cfg) - {"name", "init", *TRAIN_KEYS})
        if unknown:
            raise BnnError(f"{key}.{unknown[0]}: unknown stage key; known: name, init, {', '.join(TRAIN_KEYS)}")
        if any(s.name == name for s in earlier):
            raise BnnError(f"{key}.name: stage {name!r} appears twice in recipe {method!r}")
        spec = merge(defaults, {k: v for k, v in cfg.items() if k in TRAIN_KEYS})
        init = None
        if cfg.get("init"):
            parents = [s for s in earlier if s.name == cfg["init"]]
            if not parents:
                raise BnnError(f"{key}.init: {cfg['init']!r} is not an earlier stage of recipe {method!r}; "
                               f"earlier stages: {', '.join(s.name for s in earlier) or 'none'}")
            init = f"{parents[0].dir}/checkpoint.pt"
        loss = build_loss(spec.get("loss", {"name": "ce"}), f"{key}.loss")
        if loss.needs_teacher and not teacher_path:
            raise BnnError(f"recipes.{method}.teacher: loss {spec['loss']['name']!r} of stage {name!r} needs a "
                           "teacher; set teacher: to a recipe name such as float")
        model_spec = self._model_spec(model)
        spec.update({
            "run": {"dataset": dataset, "model": model, "method": method, "seed": seed, "stage": name},
            "seed": seed,
            "data": data_dir(dataset),
            "model": copy.deepcopy(model_spec),
            "init": init,
            "teacher": teacher_path if loss.needs_teacher else None,
        })
        self._check_settings(spec, dataset, model, key)
        return Stage(dataset, model, method, seed, name, spec)

    def _check_settings(self, settings: dict, dataset: str, model: str, key: str) -> None:
        """Build everything a stage with these settings builds (on the meta device, no data, no compute), so
        a bad name or an impossible schedule fails now, reported at the config level where it was set."""
        info = DATASETS.get(dataset)
        options = dict(self._model_spec(model))
        arch = options.pop("arch", None)
        with torch.device("meta"):
            net = build(arch, info.num_classes, info.shape, key=f"model_specs.{model}", **options)
        try:
            configure_binary(net, **settings.get("binary", {}))
        except BnnError as error:
            raise BnnError(f"{key}.{error}") from None
        except TypeError:
            raise BnnError(f"{key}.binary: {sorted(settings.get('binary', {}))} are not all binary options; "
                           "use weight_estimator, act_estimator, scaling, sign_zero") from None
        epochs = settings.get("epochs", 1)
        if not isinstance(epochs, int) or epochs < 1:
            raise BnnError(f"{key}.epochs: {epochs!r} must be an integer >= 1")
        optimizer = build_optimizer(settings.get("optimizer", {"name": "adam", "lr": 1e-3}), net, f"{key}.optimizer")
        build_lr_schedule(settings.get("lr_schedule", {"name": "constant"}), optimizer, epochs, f"{key}.lr_schedule")
        build_loss(settings.get("loss", {"name": "ce"}), f"{key}.loss")
        schedule = Schedule.parse(settings.get("schedule", {}), f"{key}.schedule")
        schedule.check(epochs, len(binary_layers(net)), f"{key}.schedule")

    # ---- queries used by the workflow ---------------------------------------------------------
    def stage(self, dataset: str, model: str, method: str, seed: int | str, stage: str) -> Stage:
        try:
            return self._stages[(dataset, model, method, int(seed), stage)]
        except KeyError:
            raise BnnError(f"no stage {dataset}/{model}/{method}/seed{seed}/{stage} in the plan") from None

    def stages(self) -> list[Stage]:
        return list(self._stages.values())

    def final_stage(self, dataset: str, model: str, method: str, seed: int) -> Stage:
        return self._recipe_stages[(dataset, model, method, int(seed))][-1]

    def eval_files(self) -> list[str]:
        """One eval.json per selected experiment, in the final stage's folder."""
        return [f"{self.final_stage(*e).dir}/eval.json" for e in self.experiments]

    def datasets(self) -> list[str]:
        return list(dict.fromkeys(e[0] for e in self.experiments))


def describe(plan: Plan) -> str:
    """Human-readable stage chain (``bnn plan``)."""
    lines = []
    for stage in plan.stages():
        extra = [f"{k} <- {Path(v).parent}" for k, v in stage.inputs().items() if k in ("init", "teacher")]
        lines.append(f"{stage.dir}  epochs={stage.spec['epochs']}  " + "  ".join(extra))
    return "\n".join(lines)
