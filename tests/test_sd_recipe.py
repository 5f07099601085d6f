"""SD-BNN as a recipe (docs/methods.md §3): SD convs through the one model builder, the recipe's models restriction,
a real sdbnn stage trained, rebuilt, evaluated and exported, and the two-step W32/A1 -> W1/A1 chain (§3.5)."""

import copy
import dataclasses

import pytest
import torch

import bnn
from bnn.config.files import apply_scale, merge
from bnn.deploy.packed import export
from bnn.errors import BnnError
from bnn.evaluation.evaluate import evaluate
from bnn.nn import SDBinaryConv2d, binary_layers
from bnn.plan.experiments import Plan
from bnn.report.targets import figure_inputs
from bnn.train import checkpoint
from bnn.train.run import run_stage

CONVNET = {"arch": "convnet", "channels": [8, 16, 16]}
SD_BINARY = {"conv": "self_distribution", "weight_estimator": "ede", "act_estimator": "ede", "scaling": "none"}


def sd_stage(stage_spec, **overrides):
    settings = {
        "model": CONVNET,
        "binary": SD_BINARY,
        "schedule": {"weights": "binary", "acts": "binary"},
        "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4},
    }
    return stage_spec(**{**settings, **overrides})


def test_default_config_runs_sdbnn_on_conv_models_only(default_config):
    plan = Plan(default_config)
    sd = [e for e in plan.experiments if e[2] == "sdbnn"]
    assert sd == [("digits", "convnet", "sdbnn", 0)]
    sd_files = [path for path in plan.eval_files() + figure_inputs(plan, "learning_curves") if "/sdbnn/" in path]
    assert sd_files and all("/convnet/" in path for path in sd_files)  # rule all and the report follow the plan
    spec = plan.stage("digits", "convnet", "sdbnn", 0, "train").spec
    assert spec.binary.conv == "self_distribution" and spec.optimizer.options["momentum"] == 0.9


def test_sd_recipe_on_a_model_without_convs_fails_with_one_line(default_config):
    config = copy.deepcopy(default_config)
    del config["recipes"]["sdbnn"]["models"]
    with pytest.raises(BnnError) as error:
        Plan(config)
    message = str(error.value)
    assert message.startswith("recipes.sdbnn.binary.conv: 'self_distribution'") and "model_specs.mlp" in message
    assert "models:" in message and "\n" not in message


@pytest.mark.parametrize(
    "change, start",
    [
        ({"recipes": {"sdbnn": {"models": ["resnet"]}}}, "recipes.sdbnn.models: 'resnet' has no entry in model_specs"),
        (
            {"recipes": {"sdbnn": {"models": "convnet"}}},
            "recipes.sdbnn.models: 'convnet' must be a list of names or a mapping name -> recipe overrides",
        ),
        ({"methods": ["sdbnn"], "models": ["mlp"]}, "methods: no selected recipe applies"),
        ({"scale": "tiny"}, "scale: 'tiny' is not defined in scales; known: none"),
    ],
)
def test_bad_restrictions_and_scales_fail_with_one_line(default_config, change, start):
    config = copy.deepcopy(default_config)
    for key, value in change.items():
        config[key] = merge(config.get(key), value) if isinstance(value, dict) else value
    with pytest.raises(BnnError, match="^" + start.replace("(", r"\(")):
        Plan(config)


def test_scale_overlay_merges_over_the_config(default_config):
    config = {
        **copy.deepcopy(default_config),
        "scale": "smoke",
        "scales": {"smoke": {"train": {"epochs": 1}, "models": ["convnet"]}},
    }
    scaled = apply_scale(config)
    assert scaled["train"]["epochs"] == 1 and scaled["train"]["batch_size"] == default_config["train"]["batch_size"]
    assert {e[1] for e in Plan(config).experiments} == {"convnet"}


def test_sdbnn_stage_trains_rebuilds_evaluates_and_exports(stage_spec, digits_dir, tmp_path):
    result = run_stage(sd_stage(stage_spec, epochs=4), tmp_path)
    assert float(result["final"]["val_acc"]) > 30  # 10 classes: well above chance after 4 epochs
    path = tmp_path / "checkpoint.pt"
    model = checkpoint.rebuild(checkpoint.read(path), path).eval()
    layers = binary_layers(model)
    assert [type(layer) is SDBinaryConv2d for layer in layers] == [False, True, True, False]  # stem, classifier real
    assert any(layer.alpha.abs().sum() > 0 for layer in layers[1:3])  # WSD trained
    metrics = evaluate(path, digits_dir)
    assert metrics["binary_check"]["ok"] and metrics["top1"] > 30
    export(path, tmp_path / "model.bnn.pt")
    loaded = bnn.load_exported(tmp_path / "model.bnn.pt").eval()
    x = torch.randn(16, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_two_step_sd_loads_step1_strictly(stage_spec, tmp_path):
    """§3.5: step 1 real weights + binary activations (ASD only), step 2 binary weights initialised from it."""
    run_stage(sd_stage(stage_spec, epochs=1, schedule={"weights": "real", "acts": "binary"}), tmp_path / "step1")
    step1 = checkpoint.read(tmp_path / "step1" / "checkpoint.pt")
    run_stage(sd_stage(stage_spec, epochs=1, init=str(tmp_path / "step1" / "checkpoint.pt")), tmp_path / "step2")
    assert [s["stage"] for s in checkpoint.read(tmp_path / "step2" / "checkpoint.pt")["lineage"]] == ["train", "train"]
    assert any(k.endswith(".alpha") for k in step1["state_dict"])
    standard = stage_spec(model=CONVNET, epochs=1)
    with pytest.raises(BnnError, match="does not fit this model"):
        run_stage(dataclasses.replace(standard, init=str(tmp_path / "step1" / "checkpoint.pt")), tmp_path / "plain")
