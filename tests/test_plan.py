import copy

import pytest
from conftest import REPO, changed

from bnn.config.files import merge
from bnn.config.spec import AMP
from bnn.errors import BnnError
from bnn.plan.experiments import Plan
from bnn.report.targets import figure_inputs, figure_names, table_inputs, table_names, table_settings


def test_default_config_expands_to_the_stage_chain(default_config):
    plan = Plan(default_config)
    names = {(s.run.model, s.run.method, s.run.stage) for s in plan.stages()}
    for model in default_config["models"]:
        assert {
            (model, "float", "train"),
            (model, "binary", "train"),
            (model, "adambnn", "step1"),
            (model, "adambnn", "step2"),
            (model, "iterative-forward", "train"),
            (model, "iterative-reverse", "train"),
        } <= names
    recipes = default_config["recipes"]
    evaluated = [m for m in default_config["methods"] if not recipes[m].get("per_layer")]
    assert len(plan.eval_files()) == sum(len(recipes[m].get("models", default_config["models"])) for m in evaluated)


def test_two_step_chains_checkpoints_and_teacher(default_config):
    plan = Plan(default_config)
    step1 = plan.stage("digits", "mlp", "adambnn", 0, "step1")
    step2 = plan.stage("digits", "mlp", "adambnn", 0, "step2")
    teacher = plan.final_stage("digits", "mlp", "float", 0)
    assert step2.inputs()["init"] == f"{step1.dir}/checkpoint.pt"
    assert step1.inputs()["teacher"] == step2.inputs()["teacher"] == f"{teacher.dir}/checkpoint.pt"
    assert "init" not in step1.inputs()
    assert step1.spec.schedule.acts.kind == "binary" and step1.spec.schedule.weights.kind == "real"
    assert step2.spec.schedule.to_dict() == {"weights": "binary", "acts": "binary", "layers": "inner"}
    assert step1.spec.optimizer.options["weight_decay"] > 0 and step2.spec.optimizer.options["weight_decay"] == 0


def test_stage_overrides_recipe_overrides_train_defaults(default_config):
    plan = Plan(default_config)
    iterative = plan.stage("digits", "mlp", "iterative-forward", 0, "train").spec
    assert iterative.epochs == default_config["recipes"]["iterative-forward"]["epochs"]
    assert iterative.binary.weight_estimator.name == "ste"
    assert iterative.binary.act_estimator.name == default_config["train"]["binary"]["act_estimator"]
    assert iterative.device == "cpu" and iterative.amp == "none"  # config value; built-in default


def test_merge_replaces_a_renamed_component():
    base = {"optimizer": {"name": "adam", "lr": 1e-3, "betas": [0.9, 0.99]}}
    assert merge(base, {"optimizer": {"name": "sgd", "lr": 0.1}}) == {"optimizer": {"name": "sgd", "lr": 0.1}}
    assert merge(base, {"optimizer": {"lr": 0.1}})["optimizer"]["betas"] == [0.9, 0.99]


@pytest.mark.parametrize(
    "path,value,message",
    [
        (["methods"], ["float", "binnary"], r"methods: unknown recipe 'binnary' \(did you mean 'binary'\?\)"),
        (["models"], ["mlp", "resnet"], r"models: 'resnet' has no entry in model_specs"),
        (
            ["model_specs", "mlp", "arch"],
            "mlpp",
            r"model_specs.mlp.arch: unknown model 'mlpp' \(did you mean 'mlp'\?\)",
        ),
        (["model_specs", "mlp", "width"], 3, r"model_specs.mlp.width: not an option of model 'mlp'"),
        (["datasets"], ["digit"], r"datasets: unknown dataset 'digit' \(did you mean 'digits'\?\)"),
        (
            ["recipes", "adambnn", "stages", 1, "init"],
            "step0",
            r"recipes.adambnn.stages\[1\].init: 'step0' is not an earlier stage",
        ),
        (
            ["recipes", "adambnn", "teacher"],
            None,
            r"recipes.adambnn.teacher: loss \['distributional'\] of stage 'step1' needs",
        ),
        (
            ["recipes", "iterative-forward", "epochs"],
            10,
            r"recipes.iterative-forward.stages\[0\].schedule.weights.epochs_per_layer: 6 x 3 layers",
        ),
        (["recipes", "binary", "loss"], {"hinge": 1.0}, r"recipes.binary.loss: unknown loss term 'hinge'"),
        (
            ["recipes", "kd", "loss", "kd"],
            {"weight": 0.9, "temprature": 2},
            r"recipes.kd.loss.kd.temprature: not an option "
            r"of loss term 'kd'",
        ),
        (
            ["train", "optimizer", "name"],
            "adamm",
            r"train.optimizer.name: unknown optimizer 'adamm' \(did you mean 'adam'\?\)",
        ),
        (
            ["train", "lr_schedule", "name"],
            "cosin",
            r"train.lr_schedule.name: unknown lr schedule 'cosin' \(did you mean 'cosine'\?\)",
        ),
        (
            ["train", "binary", "act_estimator"],
            "steep",
            r"train.binary.act_estimator: unknown estimator 'steep' \(did you mean 'ste'\?\)",
        ),
        (
            ["recipes", "binary", "binary"],
            {"scaling": "xnor"},
            r"recipes.binary.binary.scaling: unknown scaling 'xnor'",
        ),
        (
            ["recipes", "adambnn", "stages", 0, "optimizer", "groups"],
            {"latent": {}},
            r"recipes.adambnn.stages\[0\].optimizer.groups.latent: unknown parameter group",
        ),
        (
            ["recipes", "iterative-reverse", "stages", 0, "schedule", "weights"],
            {"order": [1, 2, 2], "epochs_per_layer": 2},
            r"recipes.iterative-reverse.stages\[0\].schedule.weights.order: \[1, 2, 2\] is not a permutation of the 3",
        ),
        (["recipes", "float", "stages", 0, "schedule"], {"weights": "binary", "layers": "inner"}, None),
    ],
)
def test_bad_config_fails_with_one_line_naming_the_key(default_config, path, value, message):
    if message is None:  # a valid variation, as a control: the checks do not reject good configs
        Plan(changed(default_config, path, value))
        return
    with pytest.raises(BnnError, match=message) as info:
        Plan(changed(default_config, path, value))
    assert "\n" not in str(info.value)


def test_sensitivity_recipe_expands_per_layer_and_feeds_ascend(default_config):
    plan = Plan(default_config)
    layers = [s.run.stage for s in plan.experiment_stages("digits", "mlp", "sensitivity", 0)]
    assert layers == ["layer1", "layer2", "layer3"]  # hidden [256, 256] + classifier, layers: all
    assert [s.spec.schedule.weights.to_value() for s in plan.experiment_stages("digits", "mlp", "sensitivity", 0)] == [
        {"only": 1},
        {"only": 2},
        {"only": 3},
    ]
    ascend = plan.stage("digits", "mlp", "iterative-ascend", 0, "train")
    table = "results/runs/digits/mlp/sensitivity/seed0/sensitivity.csv"
    assert ascend.inputs()["sensitivity"] == table == ascend.spec.schedule.weights.sensitivity
    assert table in plan.sensitivity_files()
    assert not any("/sensitivity/" in f for f in plan.eval_files())


@pytest.mark.parametrize(
    "path,value,message",
    [
        (
            ["recipes", "iterative-ascend", "stages", 0, "schedule", "weights", "sensitivity"],
            "float",
            r"recipes.iterative-ascend.stages\[0\].schedule.weights.sensitivity: "
            r"recipe 'float' is not a sensitivity recipe",
        ),
        (
            ["recipes", "iterative-ascend", "stages", 0, "schedule", "layers"],
            "inner",
            r"recipes.iterative-ascend.stages\[0\].schedule.layers: 'inner', "
            r"but sensitivity recipe 'sensitivity' ranks layers: 'all'",
        ),
        (
            ["recipes", "sensitivity", "stages", 0, "schedule", "weights"],
            "real",
            r"recipes.sensitivity.stages\[0\].schedule.weights: 'real'; a per_layer recipe sets it per layer itself",
        ),
        (
            ["recipes", "sensitivity", "per_layer"],
            False,
            r"recipes.iterative-ascend.stages\[0\].schedule.weights.sensitivity: "
            r"recipe 'sensitivity' is not a sensitivity",
        ),
        (
            ["recipes", "binary", "optimiser"],
            {"name": "sgd"},
            r"recipes.binary.optimiser: unknown key \(did you mean 'optimizer'\?\)",
        ),
    ],
)
def test_bad_sensitivity_configs(default_config, path, value, message):
    with pytest.raises(BnnError, match=message):
        Plan(changed(default_config, path, value))


def test_figures_follow_the_recipes_in_the_config(default_config):
    plan = Plan(default_config)
    assert figure_names(plan) == [
        "accuracy",
        "accuracy_vs_size",
        "accuracy_vs_speedup",
        "comparison",
        "iterative",
        "learning_curves",
        "optimizers",
        "sensitivity",
    ]
    methods = {f.split("/")[4] for f in figure_inputs(plan, "optimizers")}
    assert methods == {"binary", "sgdat", "sgdt", "bop", "bop2ndorder", "sgd-latent"}  # binary: figures: [optimizers]
    assert {f.split("/")[4] for f in figure_inputs(plan, "iterative")} == {
        m for m in default_config["methods"] if m.startswith("iterative")
    }
    adambnn = [f for f in figure_inputs(plan, "learning_curves") if "/mlp/adambnn/" in f]
    assert adambnn == [f"{plan.stage('digits', 'mlp', 'adambnn', 0, s).dir}/metrics.csv" for s in ("step1", "step2")]
    spine = Plan(dict(default_config, methods=["float", "binary"]))
    assert figure_names(spine) == [
        "accuracy",
        "accuracy_vs_size",
        "accuracy_vs_speedup",
        "comparison",
        "learning_curves",
    ]


def test_deploy_section_sets_the_deploy_jobs_and_their_tables(default_config):
    plan = Plan(default_config)
    assert plan.deploy_files() == [f.replace("eval.json", "deploy/inference.csv") for f in plan.eval_files()]
    tables = ["results/tables/accuracy.csv", "results/tables/comparison.csv"]
    summary = [*tables, "results/tables/inference.csv", *plan.prediction_files()]
    assert "inference" in table_names(plan) and table_inputs(plan, "summary") == summary
    off = Plan(changed(default_config, ["deploy", "enabled"], False))
    assert off.deploy_files() == [] and "inference" not in table_names(off)
    assert "accuracy_vs_speedup" not in figure_names(off) and table_inputs(off, "summary") == [
        *tables,
        *plan.prediction_files(),
    ]


def test_compare_section_names_the_baselines_of_the_paired_tables(default_config):
    plan = Plan(default_config)
    assert plan.compare.baseline == ("binary",) and plan.compared()
    assert table_inputs(plan, "comparison") == plan.prediction_files()
    assert plan.prediction_files() == [f.replace("eval.json", "predictions.csv") for f in plan.eval_files()]
    assert table_settings(plan, "comparison") == {"baseline": ["binary"]} and table_settings(plan, "summary") == {}
    two = Plan(dict(default_config, compare={"baseline": ["float", "binary", "float"]}))
    assert two.compare.baseline == ("float", "binary")
    alone = Plan(dict(default_config, methods=["float", "kd"]))  # binary is not run: nothing to compare
    assert not alone.compared() and "comparison" not in table_names(alone) + figure_names(alone)
    assert "results/tables/comparison.csv" not in table_inputs(alone, "summary")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {"baseline": "binnary"},
            r"compare.baseline: unknown recipe 'binnary' \(did you mean 'binary'\?\); use one of",
        ),
        ({"baselines": "binary"}, r"compare.baselines: unknown key \(did you mean 'baseline'\?\)"),
        ({"baseline": []}, r"compare.baseline: \[\] must be a recipe name or a non-empty list of them"),
        ("binary", r"compare: 'binary' must be a mapping with keys baseline"),
    ],
)
def test_bad_compare_sections(default_config, value, message):
    with pytest.raises(BnnError, match=message):
        Plan(dict(default_config, compare=value))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"batchs": [1]}, r"deploy.batchs: unknown key \(did you mean 'batch'\?\)"),
        ({"batch": [0]}, r"deploy.batch\[0\]: 0 must be an integer >= 1"),
        ({"threads": 1.5}, r"deploy.threads: 1.5 must be an integer >= 1"),
        ({"enabled": "yes"}, r"deploy.enabled: 'yes' must be true or false"),
        ([1, 64], r"deploy: \[1, 64\] must be a mapping"),
    ],
)
def test_bad_deploy_sections(default_config, value, message):
    with pytest.raises(BnnError, match=message):
        Plan(dict(default_config, deploy=value))


def test_recipe_models_mapping_overrides_per_model_and_teacher_of_another_model(default_config):
    config = copy.deepcopy(default_config)
    config["methods"] = ["kd"]
    config["recipes"]["kd"]["models"] = {"convnet": {"epochs": 3, "teacher": {"recipe": "float", "model": "mlp"}}}
    plan = Plan(config)
    assert plan.experiments == [("digits", "convnet", "kd", 0)]
    stage = plan.stage("digits", "convnet", "kd", 0, "train")
    assert stage.spec.epochs == 3 and [t.name for t in stage.spec.loss.terms] == ["kd", "ce"]
    assert stage.inputs()["teacher"] == f"{plan.final_stage('digits', 'mlp', 'float', 0).dir}/checkpoint.pt"


def test_a_models_entry_restricts_datasets_too(default_config):
    config = copy.deepcopy(default_config)
    config["recipes"]["float"]["models"] = {"mlp": {"datasets": ["mnist"]}, "convnet": None}
    plan = Plan(config)
    assert [e[1] for e in plan.experiments if e[2] == "float"] == ["convnet"]


@pytest.mark.parametrize(
    "override, start",
    [
        ({"convnet": {"per_layer": True}}, "recipes.float.models.convnet.per_layer: unknown recipe override"),
        (
            {"convnet": {"teacher": {"recipe": "float", "model": "vgg"}}},
            "recipes.float.teacher.model: 'vgg' has no entry",
        ),
    ],
)
def test_bad_model_overrides_fail_with_one_line(default_config, override, start):
    config = copy.deepcopy(default_config)
    config["recipes"]["float"]["models"] = override
    with pytest.raises(BnnError, match="^" + start):
        Plan(config)


@pytest.mark.parametrize("amp", [*AMP, "fp8"])
def test_workflow_schema_and_spec_agree_on_amp(default_config, amp):
    """README recommends amp: binary_bf16 on CPU: the workflow's schema accepts what the spec accepts."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    config = changed(default_config, ["train", "amp"], amp)
    schema = str(REPO / "workflow/schemas/config.schema.yaml")
    if amp in AMP:
        validate(config, schema)
        Plan(config)
    else:
        with pytest.raises(WorkflowError):
            validate(config, schema)
        with pytest.raises(BnnError, match="amp"):
            Plan(config)
