"""The eval cache (bnn/nn/cache.py): binary weights computed once per evaluation pass, never stale.

Every check compares a model's eval output with a freshly built model's that has the same state: outside a scope,
inside :func:`frozen_weights` (the value computed, then the kept one) and through the scoring loop.
"""

import pytest
import torch
from torch import nn

from bnn.evaluation.scoring import score
from bnn.nn import BinaryConv2d, BinaryLinear, SDBinaryConv2d, binary_layers, configure_binary, set_layer_states
from bnn.nn.cache import frozen_weights

IRNET = {"weight_estimator": "ede", "act_estimator": "ede", "scaling": "libra_pb", "sign_zero": "zero"}
SD = {"weight_estimator": "clipped_ste", "act_estimator": "approx_sign", "scaling": "none"}
KINDS = {"irnet": (BinaryConv2d, IRNET), "sd": (SDBinaryConv2d, SD)}
X, Y = torch.randn(4, 3, 6, 6, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 3, 7, 9])


def net(kind: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    conv, binary = KINDS[kind]
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.Hardtanh(),
        conv(8, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.Hardtanh(),
        nn.Flatten(),
        BinaryLinear(8 * 6 * 6, 10),
    )
    configure_binary(model, **binary)
    set_layer_states(model, [[True, True], [True, False]])
    return model


@torch.no_grad()
def eval_output(model: nn.Module) -> torch.Tensor:
    return model.eval()(X)


def assert_fresh(model: nn.Module, kind: str) -> torch.Tensor:
    """The model's eval output is that of a fresh model loaded with its state: outside a scope, inside one (twice)
    and through ``score``. Returns it."""
    twin = net(kind, seed=99)
    twin.load_state_dict(model.state_dict())
    expected = eval_output(twin)
    assert torch.equal(eval_output(model), expected)
    with torch.no_grad(), frozen_weights(model):
        assert torch.equal(model(X), expected) and torch.equal(model(X), expected)
    assert score(model, [(X, Y)]) == score(twin, [(X, Y)])
    return expected


@pytest.mark.parametrize("kind", KINDS)
def test_never_stale_after_load_state_dict(kind):
    model = net(kind)
    before = assert_fresh(model, kind)  # evaluated, in and out of the scope
    model.load_state_dict(net(kind, seed=1).state_dict())  # copies in place
    assert not torch.equal(assert_fresh(model, kind), before)


@pytest.mark.parametrize("kind", KINDS)
def test_never_stale_after_an_in_place_edit_of_a_latent_weight(kind):
    model = net(kind)
    before = assert_fresh(model, kind)
    with torch.no_grad():
        for layer in binary_layers(model):
            layer.weight.add_(torch.randn_like(layer.weight))
    assert not torch.equal(assert_fresh(model, kind), before)


class HandSGD:
    """An optimizer outside torch.optim: it writes ``.data``, which bumps no version counter and runs no hook."""

    def __init__(self, params, lr: float):
        self.params, self.lr = list(params), lr

    def step(self) -> None:
        for p in self.params:
            p.data.add_(p.grad, alpha=-self.lr)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("optimizer", ["hand_sgd", "fused_adam"])
def test_never_stale_after_an_optimizer_step(kind, optimizer):
    model = net(kind)
    params = list(model.parameters())
    step = HandSGD(params, lr=1.0) if optimizer == "hand_sgd" else torch.optim.Adam(params, lr=0.5, fused=True)
    before = assert_fresh(model, kind)
    model.train()
    nn.functional.cross_entropy(model(X), Y).backward()
    step.step()
    assert not torch.equal(assert_fresh(model, kind), before)


@pytest.mark.parametrize("kind", KINDS)
def test_never_stale_with_a_second_model_evaluated_in_between(kind):
    first, second = net(kind), net(kind, seed=1)
    expected = assert_fresh(first, kind)
    assert_fresh(second, kind)
    assert_fresh(first, kind)
    with torch.no_grad(), frozen_weights(first.eval()):
        assert torch.equal(first(X), expected)
        assert torch.equal(eval_output(second), eval_output(net(kind, seed=1)))
        with frozen_weights(second):
            assert torch.equal(second(X), eval_output(net(kind, seed=1)))
        assert torch.equal(first(X), expected)


def test_binary_weights_are_computed_once_per_layer_per_pass():
    model = net("irnet")
    calls = {layer: 0 for layer in binary_layers(model)}
    for layer in calls:
        binarize = layer.weight_estimator.binarize

        def counted(*args, layer=layer, binarize=binarize, **kwargs):
            calls[layer] += 1
            return binarize(*args, **kwargs)

        layer.weight_estimator.binarize = counted
    loader = [(X, Y)] * 3
    score(model, loader)
    assert list(calls.values()) == [1, 1]
    score(model, loader)
    assert list(calls.values()) == [2, 2]  # a new pass computes them anew
    eval_output(model)
    eval_output(model)
    assert list(calls.values()) == [4, 4]  # outside a pass: every forward


def test_a_nested_scope_leaves_the_outer_ones_values():
    model = net("irnet").eval()
    layer = binary_layers(model)[0]
    with torch.no_grad(), frozen_weights(model):
        kept = layer.effective_weight()
        with frozen_weights(model):
            assert layer.effective_weight() is kept
        assert layer.effective_weight() is kept
    with torch.no_grad():
        assert layer.effective_weight() is not kept
