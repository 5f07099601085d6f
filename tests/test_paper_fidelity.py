"""Faithful to the papers where an audit found drift (issue 15): latent weights of a split optimizer (docs/methods.md
§0.4, §2.2), the default recipes' binarization (§0.1, §4.1), unknown config keys at every level, and a binary
optimizer paired with an estimator whose gradient is not the identity (§2)."""

import pytest
import torch
from conftest import changed
from torch import nn

from bnn.config.spec import Component
from bnn.errors import BnnError
from bnn.nn import BinaryLinear
from bnn.optim import Optimizers
from bnn.plan.experiments import Plan


def split_with_latent(latent: dict, lr: float = 0.5) -> tuple[nn.Module, Optimizers]:
    torch.manual_seed(0)
    model = nn.Sequential(BinaryLinear(2, 2, bias=False), BinaryLinear(2, 2, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.3, -2.0], [0.05, 0.8]]))
    spec = Component(
        "split", {"binary": {"name": "sgd", "lr": lr, "latent": latent}, "real": {"name": "sgd", "lr": 0.0}}
    )
    return model, Optimizers(spec, Component("constant"), model, [model[0]], epochs=1)


def sgd_step(model: nn.Module, optimizers: Optimizers, grad: list) -> list:
    optimizers.zero_grad()
    model[0].weight.grad = torch.tensor(grad)
    model[1].weight.grad = torch.zeros(2, 2)
    optimizers.step()
    return model[0].weight.detach().flatten().tolist()


def test_zero_latent_starts_at_zero_before_the_first_update_and_is_clipped():
    """SGDAT's org (§2.2): latent = clamp(0 - lr g) after the first step, clamp(latent - lr g) after the next."""
    model, optimizers = split_with_latent({"init": "zeros", "clip": 1.0})
    assert model[0].weight[0, 1].item() == -2.0  # the first forward uses the initial weights' signs
    # latent = clamp(0 - 0.5 * g, -1, 1)
    assert sgd_step(model, optimizers, [[1.0, -4.0], [0.2, 0.0]]) == pytest.approx([-0.5, 1.0, -0.1, 0.0])
    # latent = clamp(latent - 0.5 * g): not zeroed again
    assert sgd_step(model, optimizers, [[-1.0, 2.0], [1.0, 0.0]]) == pytest.approx([0.0, 0.0, -0.6, 0.0])
    assert optimizers.state_dict()["latent"] == {"started": True}


def test_weights_latent_keeps_the_initial_weights_and_clips():
    """BinaryNet (§0.4): the latent is the initial weight, clamped to [-1, 1] after every step."""
    model, optimizers = split_with_latent({"init": "weights", "clip": 1.0})
    # [0.3, -2.0, 0.05, 0.8] - 0.5 * g, then clamped
    assert sgd_step(model, optimizers, [[0.2, 1.0], [-0.5, 0.8]]) == pytest.approx([0.2, -1.0, 0.3, 0.4])


def test_no_latent_setting_is_plain_sgd_on_the_parameter():
    model, optimizers = split_with_latent({"init": "weights"})
    assert sgd_step(model, optimizers, [[0.2, 1.0], [-0.5, 0.8]]) == pytest.approx([0.2, -2.5, 0.3, 0.4])


def test_zero_latent_resumes_without_zeroing_again():
    model, optimizers = split_with_latent({"init": "zeros", "clip": 1.0})
    sgd_step(model, optimizers, [[1.0, -4.0], [0.2, 0.0]])
    state = optimizers.state_dict()
    resumed_model, resumed = split_with_latent({"init": "zeros", "clip": 1.0})
    resumed_model.load_state_dict(model.state_dict())
    resumed.load_state_dict(state)
    assert sgd_step(resumed_model, resumed, [[-1.0, 2.0], [1.0, 0.0]]) == pytest.approx([0.0, 0.0, -0.6, 0.0])


def test_default_recipes_binarize_as_the_papers(default_config):
    plan = Plan(default_config)
    adambnn = plan.final_stage("digits", "mlp", "adambnn", 0).spec.binary  # §4.1
    assert (adambnn.act_estimator.name, adambnn.weight_estimator.name, adambnn.scaling, adambnn.sign_zero) == (
        "approx_sign",
        "clipped_ste",
        "channel_mean",
        "zero",
    )
    for method in ("irnet", "skdbnn"):  # IR-Net's sign0 (§0.1)
        assert plan.final_stage("digits", "mlp", method, 0).spec.binary.sign_zero == "zero"
    assert plan.final_stage("digits", "convnet", "sdbnn", 0).spec.binary.sign_zero == "zero"
    latent = plan.final_stage("digits", "mlp", "sgd-latent", 0).spec.optimizer.options["binary"]["latent"]
    assert latent == {"init": "zeros", "clip": 1.0}  # SGDAT's code (§0.4, §2.2)


@pytest.mark.parametrize(
    "path,value,message",
    [
        (["trian"], {"epochs": 3}, "trian: unknown key (did you mean 'train'?)"),
        (["seed"], [1, 2], "seed: unknown key (did you mean 'seeds'?)"),
        (["train", "epoch"], 3, "train.epoch: unknown key (did you mean 'epochs'?)"),
        (["train", "binary", "scalling"], "none", "train.binary.scalling: unknown key (did you mean 'scaling'?)"),
        (
            ["recipes", "float", "stages", 0, "schedual"],
            {},
            "recipes.float.stages[0].schedual: unknown key (did you mean 'schedule'?)",
        ),
        (
            ["recipes", "binary", "stages", 0, "schedule", "wieghts"],
            "binary",
            "recipes.binary.stages[0].schedule.wieghts: unknown key",
        ),
        (["train", "progress"], {"intervall": 3}, "train.progress.intervall: unknown key (did you mean 'interval'?)"),
        (
            ["recipes", "sgd-latent", "optimizer", "binary", "latent", "clp"],
            1.0,
            "recipes.sgd-latent.optimizer.binary.latent.clp: unknown key (did you mean 'clip'?)",
        ),
    ],
)
def test_a_misspelt_key_at_any_level_fails_with_a_hint(default_config, path, value, message):
    with pytest.raises(BnnError) as error:
        Plan(changed(default_config, path, value))
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


@pytest.mark.parametrize("estimator,scaling", [("ede", "none"), ("approx_sign", "none"), ("ste", "libra_pb")])
def test_a_binary_optimizer_refuses_a_non_identity_gradient_unless_allowed(default_config, estimator, scaling):
    config = changed(default_config, ["recipes", "bop", "binary"], {"weight_estimator": estimator, "scaling": scaling})
    with pytest.raises(BnnError, match=r"^recipes.bop.optimizer.binary.name: bop expects the identity gradient"):
        Plan(config)
    config["recipes"]["bop"]["optimizer"]["allow_surrogate_gradient"] = True
    Plan(config)


@pytest.mark.parametrize(
    "estimator,scaling", [("ste", "none"), ("clipped_ste", "none"), ("ste", "channel_mean"), ("hysteresis", "none")]
)
def test_a_binary_optimizer_accepts_identity_gradients(default_config, estimator, scaling):
    Plan(changed(default_config, ["recipes", "sgdat", "binary"], {"weight_estimator": estimator, "scaling": scaling}))


def test_checking_a_stage_draws_no_random_number(default_config):
    """The plan and bnn train check a stage before it trains; the check must not move the global generator,
    or the stage's initial weights would depend on which checks ran (a stochastic estimator probed too)."""
    config = changed(default_config, ["recipes", "sgdat", "binary"], {"weight_estimator": "stochastic"})
    torch.manual_seed(3)
    before = torch.random.get_rng_state()
    Plan(config)
    assert torch.equal(torch.random.get_rng_state(), before)
