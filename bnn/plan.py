"""From config to plan: experiments (dataset x model x method x seed) and their stages (DESIGN.md).

Pure Python, no Snakemake: the workflow asks the plan which jobs exist, what each stage's fully
resolved spec is, and which files each stage reads. The plan also runs the semantic checks that
must fail before any job starts (unknown names, impossible schedules, a KD loss without teacher).

Config shape (see config.yaml): selection lists ``datasets``, ``models``, ``methods``, ``seeds``;
definitions ``model_specs`` (key -> arch + options) and ``recipes`` (name -> stages); ``train``
holds the defaults every stage starts from, overridden by the recipe, then by the stage. A recipe's
``datasets``/``models`` restrict the experiments it runs in: a list of names, or a mapping from name to
recipe keys that override the recipe's for that dataset/model (a paper's per-model epochs and lr).
``scale`` picks one overlay of ``scales`` (e.g. ``smoke`` in the paper configs) that
:func:`apply_scale` merges over the config.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bnn import accel
from bnn.data.augment import Augment
from bnn.data.datasets import dataset_info
from bnn.data.make import check_stream_settings
from bnn.distributed import Setting
from bnn.errors import BnnError
from bnn.losses import build_loss
from bnn.models import build
from bnn.nn import binary_layers
from bnn.optim import Optimizers
from bnn.schedule import SENSITIVITY_ORDERS, Schedule
from bnn.stage_model import apply_binary

TRAIN_KEYS = ("epochs", "batch_size", "device", "threads", "optimizer", "lr_schedule", "loss", "binary",
              "schedule", "augment", "amp", "channels_last", "compile", "workers", "distributed")
RECIPE_KEYS = ("teacher", "stages", "per_layer", "datasets", "models")
OVERRIDE_KEYS = ("teacher", "stages", "datasets", *TRAIN_KEYS)  # what a recipe's models.<name> may set
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


def apply_scale(config: dict) -> dict:
    """The config with ``scales[scale]`` merged over it when ``scale`` is set (the paper configs' ``smoke``
    overlay: mappings merge, lists replace); the config itself otherwise."""
    name = config.get("scale")
    if name is None:
        return config
    scales = config.get("scales") or {}
    if name not in scales:
        raise BnnError(f"scale: {name!r} is not defined in scales; known: {', '.join(sorted(scales)) or 'none'}; "
                       "drop --config scale=... or add scales." + str(name))
    return merge(config, scales[name])


def data_dir(dataset: str) -> str:
    return f"{RESULTS}/data/{dataset}"


def run_dir(dataset: str, model: str, method: str, seed: int, stage: str) -> str:
    return f"{RESULTS}/runs/{dataset}/{model}/{method}/seed{seed}/{stage}"


def sensitivity_file(dataset: str, model: str, method: str, seed: int) -> str:
    return f"{RESULTS}/runs/{dataset}/{model}/{method}/seed{seed}/sensitivity.csv"


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
        weights = self.spec.get("schedule", {}).get("weights")
        if isinstance(weights, dict) and weights.get("sensitivity"):
            files["sensitivity"] = weights["sensitivity"]
        return files


class Plan:
    def __init__(self, config: dict):
        self.config = config = apply_scale(config)
        self._stages: dict[tuple, Stage] = {}
        self._recipe_stages: dict[tuple, list[Stage]] = {}
        self.experiments: list[tuple[str, str, str, int]] = []
        for dataset in self._selected("datasets"):
            self._dataset(dataset)
            for model in self._selected("models"):
                self._model_spec(model)
                for method in self._selected("methods"):
                    if self._effective_recipe(method, dataset, model) is None:
                        continue
                    for seed in self._selected("seeds"):
                        self.experiments.append((dataset, model, method, int(seed)))
        if not self.experiments:
            raise BnnError("methods: no selected recipe applies to the selected datasets and models; check the "
                           "recipes' datasets: and models: lists")
        for experiment in self.experiments:
            self._add_recipe(*experiment)

    # ---- config access with one-line errors -------------------------------------------------
    def _selected(self, key: str) -> list:
        values = self.config.get(key)
        if not isinstance(values, list) or not values:
            raise BnnError(f"{key}: must be a non-empty list")
        return values

    def _dataset(self, dataset: str):
        return dataset_info(dataset, self.config.get("dataset_options", {}).get(dataset), "datasets")

    def _model_spec(self, model: str, key: str = "models") -> dict:
        specs = self.config.get("model_specs", {})
        if model not in specs:
            raise BnnError(f"{key}: {model!r} has no entry in model_specs; define model_specs.{model}.arch")
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

    def _restriction(self, recipe: dict, method: str, key: str) -> dict | None:
        """A recipe's ``datasets``/``models`` as {name: overrides}; None when unrestricted."""
        allowed = recipe.get(key)
        if allowed is None:
            return None
        where = f"recipes.{method}.{key}"
        if isinstance(allowed, list) and all(isinstance(v, str) for v in allowed):
            allowed = dict.fromkeys(allowed)
        if not isinstance(allowed, dict):
            raise BnnError(f"{where}: must be a list of {key[:-1]} names or a mapping name -> recipe overrides")
        for name, overrides in allowed.items():
            if key == "models":
                self._model_spec(name, where)
            known = [k for k in OVERRIDE_KEYS if not (key == "datasets" and k == "datasets")]
            unknown = sorted(set(overrides or {}) - set(known))
            if unknown:
                raise BnnError(f"{where}.{name}.{unknown[0]}: not a recipe override; known: {', '.join(known)}")
        return {name: overrides or {} for name, overrides in allowed.items()}

    def _effective_recipe(self, method: str, dataset: str, model: str) -> dict | None:
        """The recipe with its ``models.<model>`` then ``datasets.<dataset>`` overrides merged over it, or None
        when it does not run on this dataset and model (e.g. SD-BNN only on conv models). A model's
        overrides may restrict the datasets further (a CIFAR model on CIFAR, an ImageNet model on ImageNet)."""
        recipe = self._recipe(method, "methods")
        for key, name in (("models", model), ("datasets", dataset)):
            allowed = self._restriction(recipe, method, key)
            if allowed is not None:
                if name not in allowed:
                    return None
                recipe = merge(recipe, allowed[name])
        return recipe

    def _teacher(self, method: str, teacher, model: str) -> tuple[str, str]:
        """(teacher recipe, teacher model key): ``teacher: RECIPE`` (same model) or ``{recipe, model}``
        (a model of its own, e.g. AdamBNN's ResNet-34, METHODS.md §4.2)."""
        key = f"recipes.{method}.teacher"
        if isinstance(teacher, dict):
            unknown = sorted(set(teacher) - {"recipe", "model"})
            if unknown or "recipe" not in teacher:
                raise BnnError(f"{key}: a recipe name, or {{recipe: NAME, model: MODEL_KEY}}")
            recipe, model = teacher["recipe"], teacher.get("model", model)
            self._model_spec(model, f"{key}.model")
        else:
            recipe = teacher
        self._recipe(recipe, key)
        if recipe == method:
            raise BnnError(f"{key}: a recipe cannot be its own teacher")
        return recipe, model

    # ---- stages ------------------------------------------------------------------------------
    def _add_recipe(self, dataset: str, model: str, method: str, seed: int) -> list[Stage]:
        """Resolve every stage of ``method`` (and of its teacher's recipe) for one experiment."""
        if (dataset, model, method, seed) in self._recipe_stages:
            return self._recipe_stages[(dataset, model, method, seed)]
        recipe = self._effective_recipe(method, dataset, model)
        if recipe is None:  # a teacher or sensitivity recipe asked for outside its datasets/models
            recipe = self._recipe(method, f"recipes.{method}")
        unknown = sorted(set(recipe) - {*RECIPE_KEYS, *TRAIN_KEYS})
        if unknown:
            raise BnnError(f"recipes.{method}.{unknown[0]}: unknown recipe key; known: {', '.join(RECIPE_KEYS)}, "
                           f"{', '.join(TRAIN_KEYS)}")
        stages_cfg = recipe.get("stages")
        if not isinstance(stages_cfg, list) or not stages_cfg:
            raise BnnError(f"recipes.{method}.stages: must be a non-empty list of stages")
        teacher_path = None
        if recipe.get("teacher"):
            teacher, teacher_model = self._teacher(method, recipe["teacher"], model)
            teacher_path = f"{self._add_recipe(dataset, teacher_model, teacher, seed)[-1].dir}/checkpoint.pt"
        self._check_settings(self.config.get("train", {}), dataset, model, "train")
        defaults = merge(self.config.get("train", {}), {k: v for k, v in recipe.items() if k in TRAIN_KEYS})
        self._check_settings(defaults, dataset, model, f"recipes.{method}")
        if recipe.get("per_layer"):
            stages_cfg = self._per_layer_stages(dataset, model, method, stages_cfg, defaults)
        resolved: list[Stage] = []
        for i, stage_cfg in enumerate(stages_cfg):
            key = f"recipes.{method}.stages[{i}]"
            resolved.append(self._stage(dataset, model, method, seed, stage_cfg, defaults, resolved,
                                        teacher_path, key))
        self._recipe_stages[(dataset, model, method, seed)] = resolved
        for stage in resolved:
            self._stages[(dataset, model, method, seed, stage.name)] = stage
        return resolved

    def _per_layer_stages(self, dataset: str, model: str, method: str, stages_cfg: list, defaults: dict) -> list:
        """Sensitivity pre-training (METHODS.md §5.3): the recipe's one stage, repeated for every controlled
        layer k as stage ``layer{k}`` in which only layer k's weights are binary."""
        key = f"recipes.{method}.stages"
        if len(stages_cfg) != 1:
            raise BnnError(f"{key}: a per_layer recipe has exactly one stage, the template of every layer's stage")
        template = stages_cfg[0]
        settings = merge(defaults, {k: v for k, v in template.items() if k in TRAIN_KEYS})
        schedule = settings.get("schedule", {})
        own = template.get("schedule", {}).get("weights", "binary")
        if own != "binary":
            raise BnnError(f"{key}[0].schedule.weights: {own!r}; a per_layer recipe sets it per layer itself: "
                           "leave it out or write binary")
        n = len(Schedule.parse(schedule, f"{key}[0].schedule").controlled(self._layer_count(dataset, model)))
        stages = []
        for k in range(1, n + 1):
            stage = copy.deepcopy(template)
            stage["name"] = f"layer{k:0{len(str(n))}d}"
            stage["schedule"] = {**schedule, "weights": {"only": k}}
            stages.append(stage)
        return stages

    def _layer_count(self, dataset: str, model: str) -> int:
        info = self._dataset(dataset)
        options = dict(self._model_spec(model))
        arch = options.pop("arch", None)
        with torch.device("meta"):
            return len(binary_layers(build(arch, info.num_classes, info.shape, key=f"model_specs.{model}",
                                           **options)))

    def _resolve_sensitivity(self, dataset: str, model: str, seed: int, spec: dict, key: str) -> None:
        """Point an ascend/descend order at the sensitivity table of its per-layer recipe (same experiment)."""
        schedule = spec.get("schedule", {})
        acts = schedule.get("acts")
        if isinstance(acts, dict) and acts.get("order") in SENSITIVITY_ORDERS:
            raise BnnError(f"{key}.schedule.acts.order: {acts['order']!r} is for weights only; use forward, reverse, "
                           "random or a permutation")
        weights = schedule.get("weights")
        if not (isinstance(weights, dict) and weights.get("order") in SENSITIVITY_ORDERS):
            return
        source = weights.get("sensitivity", "sensitivity")
        recipe = self._recipe(source, f"{key}.schedule.weights.sensitivity")
        if not recipe.get("per_layer"):
            raise BnnError(f"{key}.schedule.weights.sensitivity: recipe {source!r} is not a sensitivity recipe; "
                           "name one with per_layer: true")
        layer_stage = self._add_recipe(dataset, model, source, seed)[0]
        theirs, ours = layer_stage.spec["schedule"].get("layers", "inner"), schedule.get("layers", "inner")
        if theirs != ours:
            raise BnnError(f"{key}.schedule.layers: {ours!r}, but sensitivity recipe {source!r} ranks layers: "
                           f"{theirs!r}; use the same layers setting in both")
        weights["sensitivity"] = sensitivity_file(dataset, model, source, seed)

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
        self._resolve_sensitivity(dataset, model, seed, spec, key)
        self._check_settings(spec, dataset, model, key, is_stage=True)
        return Stage(dataset, model, method, seed, name, spec)

    def _check_settings(self, settings: dict, dataset: str, model: str, key: str, is_stage: bool = False) -> None:
        """Build everything a stage with these settings builds (on the meta device, no data, no compute), so
        a bad name or an impossible schedule fails now, reported at the config level where it was set."""
        info = self._dataset(dataset)
        options = dict(self._model_spec(model))
        arch = options.pop("arch", None)
        with torch.device("meta"):
            net = build(arch, info.num_classes, info.shape, key=f"model_specs.{model}", **options)
            try:
                apply_binary(net, settings.get("binary", {}), f"model_specs.{model} (arch {arch!r})")
            except BnnError as error:
                raise BnnError(f"{key}.{error}") from None
        epochs = settings.get("epochs", 1)
        if not isinstance(epochs, int) or epochs < 1:
            raise BnnError(f"{key}.epochs: {epochs!r} must be an integer >= 1")
        build_loss(settings.get("loss", {"name": "ce"}), f"{key}.loss")
        augment = Augment.parse(settings.get("augment"), f"{key}.augment")
        # augment vs a streamed dataset only per stage: a recipe's per-dataset override may clear train.augment
        check_stream_settings(dataset, info.streams, augment if is_stage else Augment.parse(None),
                              settings.get("workers"), key)
        accel.check(settings, key)
        Setting.parse(settings, key)
        schedule = Schedule.parse(settings.get("schedule", {}), f"{key}.schedule")
        layers = binary_layers(net)
        schedule.check(epochs, len(layers), f"{key}.schedule", tables_ready=False)
        # defaults and recipe-level settings are checked as if their stages binarized the controlled layers'
        # weights from epoch 0 (the stages set the schedule); a stage is checked with its own schedule
        latent = schedule.latent_layers(len(layers)) if is_stage else schedule.controlled(len(layers))
        Optimizers(settings.get("optimizer", {"name": "adam", "lr": 1e-3}), settings.get("lr_schedule", {}), net,
                   [layers[i] for i in latent], epochs, f"{key}.optimizer", f"{key}.lr_schedule",
                   binary_from_start=schedule.weights.kind == "binary" or not is_stage)

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

    def is_per_layer(self, method: str) -> bool:
        return bool(self._recipe(method, "methods").get("per_layer"))

    def eval_files(self) -> list[str]:
        """One eval.json per selected experiment (except sensitivity recipes), in the final stage's folder."""
        return [f"{self.final_stage(*e).dir}/eval.json" for e in self.experiments if not self.is_per_layer(e[2])]

    def benchmark_files(self, dataset: str, model: str, method: str, seed: int | str) -> list[str]:
        """Snakemake's benchmark.tsv of each stage of one experiment (its cost, recorded by bnn evaluate)."""
        return [f"{stage.dir}/benchmark.tsv" for stage in self._recipe_stages[(dataset, model, method, int(seed))]]

    def sensitivity_files(self) -> list[str]:
        """The sensitivity.csv of every selected experiment whose recipe is per_layer."""
        return [sensitivity_file(*e) for e in self.experiments if self.is_per_layer(e[2])]

    def layer_stages(self, dataset: str, model: str, method: str, seed: int | str) -> list[Stage]:
        """The per-layer stages a sensitivity.csv is gathered from."""
        return self._recipe_stages[(dataset, model, method, int(seed))]

    # ---- which figures apply (the report rules' inputs) ----------------------------------------
    def _metrics_files(self, wanted) -> list[str]:
        """metrics.csv of every stage, in stage order, of the selected experiments whose stages satisfy
        ``wanted(stages)`` (per_layer recipes excluded: their stages are separate one-layer runs)."""
        chosen = [self._recipe_stages[e] for e in self.experiments if not self.is_per_layer(e[2])]
        return [f"{s.dir}/metrics.csv" for stages in chosen if wanted(stages) for s in stages]

    def curve_files(self) -> list[str]:
        """Learning curves: every evaluated experiment."""
        return self._metrics_files(lambda stages: True)

    def iterative_files(self) -> list[str]:
        """Iterative training: experiments with a stage whose weights follow an order (METHODS.md §5.2)."""
        return self._metrics_files(lambda stages: any(isinstance(w, dict) and "order" in w for w in
                                                      (s.spec["schedule"].get("weights") for s in stages)))

    def optimizer_files(self) -> list[str]:
        """Optimizer study: experiments with a split optimizer (METHODS.md §2.6), plus the ``binary`` baseline."""
        def split(stages: list[Stage]) -> bool:
            return any(s.spec["optimizer"]["name"] == "split" for s in stages)

        if not self._metrics_files(split):
            return []
        return self._metrics_files(lambda stages: split(stages) or stages[0].method == "binary")

    def figure_files(self) -> list[str]:
        """The figures this config has data for (rule all); accuracy and size need only accuracy.csv."""
        wanted = {"accuracy": True, "accuracy_vs_size": True, "learning_curves": self.curve_files(),
                  "iterative": self.iterative_files(), "optimizers": self.optimizer_files(),
                  "sensitivity": self.sensitivity_files()}
        return [f"{RESULTS}/figures/{name}.png" for name, applies in wanted.items() if applies]

    def datasets(self) -> list[str]:
        return list(dict.fromkeys(e[0] for e in self.experiments))


def describe(plan: Plan) -> str:
    """Human-readable stage chain (``bnn plan``)."""
    lines = []
    for stage in plan.stages():
        extra = [f"{k} <- {Path(v).parent}" for k, v in stage.inputs().items() if k in ("init", "teacher")]
        lines.append(f"{stage.dir}  epochs={stage.spec['epochs']}  " + "  ".join(extra))
    return "\n".join(lines)
