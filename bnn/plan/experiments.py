"""From config to plan: experiments (dataset x model x method x seed) and their stages (docs/architecture.md).

Pure Python, no Snakemake: the workflow asks the plan which jobs exist, what each stage's resolved spec is
(``StageSpec``), and which files each stage reads (paths from :mod:`bnn.plan.layout`). Before any job
starts, every config level is checked (:mod:`bnn.plan.checks`), each error one line naming its key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from bnn.config.experiment import ExperimentConfig
from bnn.config.recipes import Recipe, Recipes, per_layer_stages, stage_settings
from bnn.config.schedule import SENSITIVITY_ORDERS
from bnn.config.spec import RunId, Settings, StageSpec
from bnn.data.datasets import DatasetInfo, dataset_info
from bnn.errors import BnnError
from bnn.losses import build_loss
from bnn.plan import layout
from bnn.plan.checks import binarizable_count, check_settings, check_stage

Experiment = tuple[str, str, str, int]  # dataset, model, method, seed


@dataclass(frozen=True)
class Stage:
    spec: StageSpec

    @property
    def run(self) -> RunId:
        return self.spec.run

    @property
    def dir(self) -> str:
        return layout.path(layout.RUN, **asdict(self.run))

    def file(self, name: str) -> str:
        return f"{self.dir}/{name}"

    def inputs(self) -> dict[str, str]:
        """Files this stage reads: prepared data, and the init/teacher checkpoints and sensitivity table it uses."""
        files = {
            name.split(".")[0]: layout.data_file(self.run.dataset, name) for name in ("meta.json", "train.pt", "val.pt")
        }
        files.update({key: path for key, path in (("init", self.spec.init), ("teacher", self.spec.teacher)) if path})
        if self.spec.schedule.weights.sensitivity:
            files["sensitivity"] = self.spec.schedule.weights.sensitivity
        return files


class Plan:
    def __init__(self, config: dict | ExperimentConfig):
        """The plan of a config: a parsed :class:`ExperimentConfig`, or the mapping to parse (files stacked)."""
        self.config = config if isinstance(config, ExperimentConfig) else ExperimentConfig.parse(config)
        self.recipes = Recipes(self.config)
        self.deploy = self.config.deploy
        self.compare = self.config.compare
        self.compare.check_recipes(list(self.config.recipes))
        self._stages: dict[tuple, Stage] = {}
        self._experiment_stages: dict[Experiment, list[Stage]] = {}
        self._resolved: dict[Experiment, Recipe] = {}
        self.experiments: list[Experiment] = []
        for dataset in self.config.datasets:
            self._dataset(dataset)
            for model in self.config.models:
                self.recipes.model_spec(model)
                methods = [m for m in self.config.methods if self.recipes.applies(m, dataset, model)]
                self.experiments += [(dataset, model, m, seed) for m in methods for seed in self.config.seeds]
        if not self.experiments:
            raise BnnError(
                "methods: no selected recipe applies to the selected datasets and models; check the "
                "recipes' datasets: and models: lists"
            )
        for experiment in self.experiments:
            self._add(*experiment)

    def _dataset(self, dataset: str) -> DatasetInfo:
        return dataset_info(dataset, self.config.dataset_options.get(dataset), "datasets")

    # ---- stages ------------------------------------------------------------------------------
    def _add(self, dataset: str, model: str, method: str, seed: int) -> list[Stage]:
        """Resolve every stage of ``method`` (and of its teacher's recipe) for one experiment."""
        experiment = (dataset, model, method, seed)
        if experiment in self._experiment_stages:
            return self._experiment_stages[experiment]
        recipe = self._resolved[experiment] = self.recipes.resolve(method, dataset, model)
        info, model_spec = self._dataset(dataset), self.recipes.model_spec(model)
        for key, setting in (("train", self.recipes.train), (f"recipes.{method}", recipe.settings)):
            check_settings(
                Settings.parse(setting, key), model_spec, f"model_specs.{model}", dataset, info, key, stage=False
            )
        teacher = None
        if recipe.teacher:
            teacher = self._add(dataset, recipe.teacher[1], recipe.teacher[0], seed)[-1].file(layout.CHECKPOINT)
        raw_stages = recipe.stages
        if recipe.per_layer:
            key = f"recipes.{method}.stages[0]"
            template = Settings.parse(stage_settings(recipe, raw_stages[0]), key)
            n_layers = len(template.schedule.controlled(binarizable_count(model_spec, info, f"model_specs.{model}")))
            raw_stages = per_layer_stages(recipe, n_layers)
        stages: list[Stage] = []
        for i, raw in enumerate(raw_stages):
            stages.append(self._stage(experiment, recipe, raw, stages, teacher, f"recipes.{method}.stages[{i}]"))
        self._experiment_stages[experiment] = stages
        self._stages.update({(*experiment, stage.run.stage): stage for stage in stages})
        return stages

    def _stage(
        self, experiment: Experiment, recipe: Recipe, raw: dict, earlier: list[Stage], teacher: str | None, key: str
    ) -> Stage:
        dataset, model, method, seed = experiment
        settings = stage_settings(recipe, raw)
        name = str(raw["name"])
        if any(s.run.stage == name for s in earlier):
            raise BnnError(f"{key}.name: stage {name!r} appears twice in recipe {method!r}")
        init = None
        if raw.get("init"):
            parents = [s for s in earlier if s.run.stage == raw["init"]]
            if not parents:
                raise BnnError(
                    f"{key}.init: {raw['init']!r} is not an earlier stage of recipe {method!r}; earlier "
                    f"stages: {', '.join(s.run.stage for s in earlier) or 'none'}"
                )
            init = parents[0].file(layout.CHECKPOINT)
        self._resolve_sensitivity(experiment, settings, key)
        mapping = {
            **settings,
            "run": {"dataset": dataset, "model": model, "method": method, "seed": seed, "stage": name},
            "seed": seed,
            "data": layout.path(layout.DATA, dataset=dataset),
            "model": self.recipes.model_spec(model).to_dict(),
            "init": init,
            "teacher": teacher,
        }
        spec = StageSpec.parse(mapping, key)
        info = self._dataset(dataset)
        needs_teacher = build_loss(spec.loss, info.num_classes, f"{key}.loss").needs_teacher
        if needs_teacher and not teacher:
            raise BnnError(
                f"recipes.{method}.teacher: loss {list(spec.loss.to_dict())} of stage {name!r} needs a "
                "teacher; set teacher: to a recipe name such as float"
            )
        spec = spec if needs_teacher else replace(spec, teacher=None)
        check_stage(spec, info, key, f"model_specs.{model}")
        return Stage(spec)

    def _resolve_sensitivity(self, experiment: Experiment, settings: dict, key: str) -> None:
        """Point an ascend/descend order at the sensitivity table of its per-layer recipe (same experiment)."""
        dataset, model, _, seed = experiment
        schedule = Settings.parse({"schedule": settings.get("schedule")}, key).schedule
        if schedule.acts.order in SENSITIVITY_ORDERS:
            raise BnnError(
                f"{key}.schedule.acts.order: {schedule.acts.order!r} is for weights only; use forward, reverse, "
                "random or a permutation"
            )
        if schedule.weights.order not in SENSITIVITY_ORDERS:
            return
        source = schedule.weights.sensitivity or "sensitivity"
        where = f"{key}.schedule.weights.sensitivity"
        if not self.recipes.raw(source, where).get("per_layer"):
            raise BnnError(f"{where}: recipe {source!r} is not a sensitivity recipe; name one with per_layer: true")
        theirs = self._add(dataset, model, source, seed)[0].spec.schedule.layers
        if theirs != schedule.layers:
            raise BnnError(
                f"{key}.schedule.layers: {schedule.layers!r}, but sensitivity recipe {source!r} ranks layers: "
                f"{theirs!r}; use the same layers setting in both"
            )
        path = layout.path(layout.SENSITIVITY, dataset=dataset, model=model, method=source, seed=seed)
        settings["schedule"]["weights"]["sensitivity"] = path

    # ---- queries used by the workflow and the report -----------------------------------------
    def stage(self, dataset: str, model: str, method: str, seed: int | str, stage: str) -> Stage:
        try:
            return self._stages[(dataset, model, method, int(seed), stage)]
        except KeyError:
            raise BnnError(f"no stage {dataset}/{model}/{method}/seed{seed}/{stage} in the plan") from None

    def stages(self) -> list[Stage]:
        return list(self._stages.values())

    def experiment_stages(self, dataset: str, model: str, method: str, seed: int | str) -> list[Stage]:
        return self._experiment_stages[(dataset, model, method, int(seed))]

    def recipe(self, experiment: Experiment) -> Recipe:
        return self._resolved[experiment]

    def evaluated(self) -> list[Experiment]:
        """The selected experiments that are evaluated: all but sensitivity pre-training (per-layer recipes)."""
        return [e for e in self.experiments if not self._resolved[e].per_layer]

    def final_stage(self, dataset: str, model: str, method: str, seed: int | str) -> Stage:
        return self.experiment_stages(dataset, model, method, seed)[-1]

    def eval_files(self) -> list[str]:
        """One eval.json per evaluated experiment, in the final stage's folder."""
        return [self.final_stage(*e).file(layout.EVAL) for e in self.evaluated()]

    def prediction_files(self) -> list[str]:
        """One predictions.csv (every test image's label and top-1 prediction) per evaluated experiment."""
        return [self.final_stage(*e).file(layout.PREDICTIONS) for e in self.evaluated()]

    def compared(self) -> bool:
        """Whether some dataset/model runs a ``compare.baseline`` beside another evaluated method."""
        methods: dict[tuple[str, str], set[str]] = {}
        for dataset, model, method, _ in self.evaluated():
            methods.setdefault((dataset, model), set()).add(method)
        return any(len(ran) > 1 and ran & set(self.compare.baseline) for ran in methods.values())

    def deploy_files(self) -> list[str]:
        """One deploy table (bnn deploy's inference.csv) per evaluated experiment, in the final stage's folder;
        none when ``deploy.enabled`` is false."""
        if not self.deploy.enabled:
            return []
        return [self.final_stage(*e).file(layout.DEPLOY_ROWS) for e in self.evaluated()]

    def benchmark_files(self, dataset: str, model: str, method: str, seed: int | str) -> list[str]:
        """Snakemake's benchmark.tsv of each stage of one experiment (its cost, recorded by bnn evaluate)."""
        return [stage.file(layout.BENCHMARK) for stage in self.experiment_stages(dataset, model, method, seed)]

    def sensitivity_files(self) -> list[str]:
        """The sensitivity.csv of every selected experiment whose recipe is per_layer."""
        return [
            layout.path(layout.SENSITIVITY, dataset=d, model=m, method=r, seed=s)
            for d, m, r, s in self.experiments
            if self._resolved[(d, m, r, s)].per_layer
        ]

    def datasets(self) -> list[str]:
        return list(dict.fromkeys(e[0] for e in self.experiments))


def describe(plan: Plan) -> str:
    """Human-readable stage chain (``bnn plan``)."""
    lines = []
    for stage in plan.stages():
        links = [
            f"{key} <- {path.rsplit('/', 1)[0]}" for key, path in stage.inputs().items() if key in ("init", "teacher")
        ]
        lines.append(f"{stage.dir}  epochs={stage.spec.epochs}  " + "  ".join(links))
    return "\n".join(lines)
