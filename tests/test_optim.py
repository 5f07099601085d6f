"""One step of each binary optimizer against values computed by hand from docs/methods.md §2.3–2.5."""

import pytest
import torch

from bnn.config.spec import Component
from bnn.errors import BnnError
from bnn.models import build
from bnn.nn import binary_layers
from bnn.optim import SGDAT, SGDT, Bop, Bop2ndOrder, Optimizers


def step(optimizer, p, grad):
    p.grad = torch.tensor(grad)
    optimizer.step()
    return p.detach().tolist()


def test_bop_flips_where_momentum_agrees_with_the_weight():
    p = torch.nn.Parameter(torch.tensor([0.3, -2.0, 0.7, -0.1]))  # binarized on construction
    opt = Bop([p], gamma=0.1, threshold=0.01)
    assert p.tolist() == [1, -1, 1, -1]
    # m = 0.1 g = [.05, .05, -.02, -.02]; w*m = [.05, -.05, -.02, .02] > .01 -> flip 1st and 4th
    assert step(opt, p, [0.5, 0.5, -0.2, -0.2]) == [-1, -1, 1, 1]
    # m = .9 m + .1 g = [.095, .095, -.038, -.038]; w*m all negative -> no flip
    assert step(opt, p, [0.5, 0.5, -0.2, -0.2]) == [-1, -1, 1, 1]


def test_bop2ndorder_normalises_by_the_second_moment():
    p = torch.nn.Parameter(torch.tensor([1.0, -1.0]))
    opt = Bop2ndOrder([p], gamma=0.5, sigma=0.5, threshold=0.5)
    # m = .5 * 2 = 1; v = .5 * 4 = 2; r = 1 / sqrt(2) = .707; w*r = [.707, -.707] > .5 -> flip the first
    assert step(opt, p, [2.0, 2.0]) == [-1, -1]
    assert opt.state[p]["v"].tolist() == [2.0, 2.0]


def test_sgdat_threshold_grows_with_each_weights_flip_count():
    p = torch.nn.Parameter(torch.tensor([1.0, 1.0, -1.0]))
    opt = SGDAT([p], lr=0.1, threshold=0.5)
    # m = -0.1 g = [-.1, .1, 0]; no flips yet so theta = 0: sign(m) where |m| > 0, else keep
    assert step(opt, p, [1.0, -1.0, 0.0]) == [-1, 1, -1]
    assert opt.state[p]["flips"].tolist() == [1, 0, 0]
    # m = [.2, .1, 0]; theta = .5 * [1, 0, 0]: the first weight (flipped once) is held, |.2| < .5
    assert step(opt, p, [-3.0, 0.0, 0.0]) == [-1, 1, -1]
    # m = [.6, .1, 0] > .5 -> it flips; its threshold is now .5 * 2 = 1.0
    assert step(opt, p, [-4.0, 0.0, 0.0]) == [1, 1, -1]
    assert opt.state[p]["flips"].tolist() == [2, 0, 0]
    # m = [-.3, ...]: a fresh weight would flip (|m| > 0) but this one needs |m| > 1.0
    assert step(opt, p, [9.0, 0.0, 0.0]) == [1, 1, -1]


def test_sgdat_can_reset_flip_counts_every_epoch_like_the_reference():
    p = torch.nn.Parameter(torch.tensor([1.0]))
    opt = SGDAT([p], lr=0.1, threshold=0.5, reset_flips_every_epoch=True)
    step(opt, p, [1.0])  # flips to -1, n = 1
    opt.on_epoch_start(1, 2)
    assert step(opt, p, [-3.0]) == [1]  # m = .2 > theta = 0 after the reset


def test_sgdt_keeps_the_previous_sign_inside_the_threshold_band():
    p = torch.nn.Parameter(torch.tensor([1.0, -1.0, 1.0]))
    opt = SGDT([p], lr=0.5, threshold=0.3)
    # latent = clip(0 - .5 g, -1, 1) = [-.2, -.2, 1]; |latent| > .3 only for the third
    assert step(opt, p, [0.4, 0.4, -4.0]) == [1, -1, 1]
    assert opt.state[p]["latent"].tolist() == pytest.approx([-0.2, -0.2, 1.0])
    # latent = [-.4, -.4, 1] -> all outside the band
    assert step(opt, p, [0.4, 0.4, -4.0]) == [-1, -1, 1]


def mlp():
    return build("mlp", 10, (1, 8, 8), hidden=[8, 8])


def test_split_optimizer_puts_latent_weights_and_real_parameters_apart():
    model = mlp()
    layers = binary_layers(model)
    opts = Optimizers(
        Component.parse(
            {"name": "split", "binary": {"name": "sgdat", "lr": 1e-4}, "real": {"name": "adam", "lr": 1e-3}},
            "optimizer",
        ),
        Component("constant"),
        model,
        layers[1:-1],
        epochs=3,
    )
    (_, binary), (_, real) = opts.named
    binary_params = [p for g in binary.param_groups for p in g["params"]]
    assert len(binary_params) == 1 and binary_params[0] is layers[1].weight
    assert (
        sum(p.numel() for g in real.param_groups for p in g["params"])
        == sum(p.numel() for p in model.parameters()) - layers[1].weight.numel()
    )
    assert set(layers[1].weight.detach().unique().tolist()) == {-1.0, 1.0}


@pytest.mark.parametrize(
    "spec,latent,message",
    [
        (
            {"name": "split", "binary": {"name": "sgdat"}, "real": {"name": "adam"}},
            False,
            "optimizer.binary: no weight is binarized",
        ),
        (
            {"name": "adam", "groups": {"weights": {}, "biases": {}}},
            True,
            "optimizer.groups.biases: unknown parameter group",
        ),
        ({"name": "bop"}, True, "optimizer.name: Bop updates binary weights only"),
        (
            {"name": "split", "binary": {"name": "adam"}, "real": {"name": "sgd", "lr": 0.1}, "fp": {}},
            True,
            "optimizer.fp: unknown key; known: binary, real, allow_surrogate_gradient",
        ),
        (
            {"name": "split", "binary": {"name": "sgd", "latent": {"init": "ones"}}, "real": {"name": "adam"}},
            True,
            "optimizer.binary.latent.init: 'ones' must be one of weights, zeros",
        ),
        (
            {"name": "split", "binary": {"name": "sgdat", "latent": {"clip": 1.0}}, "real": {"name": "adam"}},
            True,
            "optimizer.binary.latent: sgdat keeps its own latent state",
        ),
    ],
)
def test_bad_optimizer_configs_raise(spec, latent, message):
    model = mlp()
    with pytest.raises(BnnError, match=message):
        Optimizers(
            Component.parse(spec, "optimizer"),
            Component("constant"),
            model,
            binary_layers(model)[1:-1] if latent else [],
            epochs=2,
        )


def test_empty_group_raises():
    model = torch.nn.Sequential(torch.nn.ReLU())
    with pytest.raises(BnnError, match="optimizer: this optimizer has no parameters"):
        Optimizers(Component("adam"), Component("constant"), model, [], epochs=1)
