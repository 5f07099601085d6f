import pytest
import torch
import torch.nn.functional as F

from bnn.errors import BnnError
from bnn.nn import BinaryConv2d, BinaryLinear, build_estimator, sign
from bnn.nn.cache import frozen_weights
from bnn.nn.workspace import Workspace

X = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])


def grad_of(estimator_name: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.clone().requires_grad_(True)
    upstream = torch.arange(1.0, len(x) + 1)
    out = build_estimator(estimator_name)(x)
    (out * upstream).sum().backward()
    return out.detach(), x.grad / upstream


def test_sign_conventions():
    assert sign(X, "plus").tolist() == [-1, -1, -1, 1, 1, 1, 1]
    assert sign(X, "zero").tolist() == [-1, -1, -1, 0, 1, 1, 1]


def test_identity_ste_passes_gradient_unchanged():
    out, grad = grad_of("ste", X)
    assert out.tolist() == [-1, -1, -1, 1, 1, 1, 1]
    assert grad.tolist() == [1.0] * 7


def test_clipped_ste_masks_gradient_outside_unit_interval():
    out, grad = grad_of("clipped_ste", X)
    assert out.tolist() == [-1, -1, -1, 1, 1, 1, 1]
    assert grad.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]


def test_unknown_estimator_names_a_close_match():
    with pytest.raises(BnnError, match="did you mean 'clipped_ste'"):
        build_estimator("clipped_st", key="binary.weight_estimator")


@pytest.mark.parametrize("weights,acts", [(False, False), (True, False), (False, True), (True, True)])
def test_linear_switches_are_independent(weights, acts):
    torch.manual_seed(0)
    layer = BinaryLinear(6, 4, bias=True)
    layer.set_binary(weights, acts)
    x = torch.randn(5, 6)
    w = torch.where(layer.weight >= 0, 1.0, -1.0) if weights else layer.weight
    xin = torch.where(x >= 0, 1.0, -1.0) if acts else x
    torch.testing.assert_close(layer(x), F.linear(xin, w, layer.bias))


def test_conv_binary_weights_and_acts_match_manual_sign():
    torch.manual_seed(0)
    layer = BinaryConv2d(3, 4, 3, padding=1, bias=False)
    layer.set_binary(True, True)
    x = torch.randn(2, 3, 5, 5)
    expected = F.conv2d(torch.where(x >= 0, 1.0, -1.0), torch.where(layer.weight >= 0, 1.0, -1.0), padding=1)
    torch.testing.assert_close(layer(x), expected)


def test_binary_weight_gradient_is_clipped_to_latent_range():
    layer = BinaryLinear(3, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, -2.0, 0.9]]))
    layer.set_binary(True, False)
    layer(torch.ones(1, 3)).sum().backward()
    assert layer.weight.grad.tolist() == [[1.0, 0.0, 1.0]]


def test_channel_mean_scaling_gives_two_values_per_output_channel():
    layer = BinaryLinear(3, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, -1.0, 0.3], [-0.2, 0.2, 0.8]]))
    layer.configure(scaling="channel_mean")
    layer.set_binary(True, False)
    w = layer.effective_weight().detach()
    torch.testing.assert_close(w, torch.tensor([[0.6, -0.6, 0.6], [-0.4, 0.4, 0.4]]))


def test_unknown_scaling_is_rejected():
    with pytest.raises(BnnError, match="binary.scaling: unknown scaling 'mean'"):
        BinaryLinear(2, 2).configure(scaling="mean")


# ---- state, the eval cache (bnn/nn/cache.py, more in tests/test_cache.py) and the real weight ------------


def irnet_layer(seed: int = 0) -> BinaryLinear:
    torch.manual_seed(seed)
    layer = BinaryLinear(12, 5)
    layer.configure(weight_estimator="ede", act_estimator="ede", scaling="libra_pb", sign_zero="zero")
    layer.set_binary(True, True)
    return layer


def test_estimator_state_is_in_the_layer_state_dict():
    keys = set(irnet_layer().state_dict())
    assert {"weight_estimator.k", "weight_estimator.t", "act_estimator.k", "act_estimator.t"} <= keys


def test_switches_configuration_and_mode_are_never_served_from_the_cache():
    layer = irnet_layer().eval()
    with frozen_weights(layer):
        with torch.no_grad():
            kept = layer.effective_weight()
            assert layer.effective_weight() is kept  # kept inside the scope
            layer.set_binary(False, True)
            assert layer.effective_weight() is layer.weight
            layer.set_binary(True, True)
            assert layer.effective_weight() is not kept
            layer.configure(weight_estimator="clipped_ste", scaling="channel_mean")
            expected = torch.where(layer.weight >= 0, 1.0, -1.0) * layer.weight.abs().mean(dim=1, keepdim=True)
            assert torch.equal(layer.effective_weight(), expected)
        layer.train()
        assert layer.effective_weight().requires_grad  # training: a fresh value with its graph
        layer.eval()
        assert layer.effective_weight().requires_grad  # eval with autograd on: not cached either
        layer.configure(weight_estimator="stochastic")
        layer.train()
        with torch.no_grad():  # training without autograd: fresh draws
            assert not torch.equal(layer.effective_weight(), layer.effective_weight())


def test_last_real_weight_is_the_one_the_training_forward_signed():
    layer = irnet_layer().train()
    layer(torch.randn(4, 12)).sum().backward()
    w = layer.weight.detach()
    torch.testing.assert_close(
        layer.last_real_weight, (w - w.mean(1, keepdim=True)) / w.std(1, keepdim=True), rtol=2e-6, atol=0
    )
    assert not layer.last_real_weight.requires_grad
    layer.set_binary(True, False)
    assert layer.last_real_weight is None  # nothing carried over a switch


# ---- bf16 products ----------------------------------------------------------------------------------


@pytest.mark.parametrize("layer_type", ["linear", "conv"])
def test_binary_bf16_product_of_a_w1a1_layer_is_exact_and_trains(layer_type):
    torch.manual_seed(0)
    layer = BinaryLinear(64, 8, bias=False) if layer_type == "linear" else BinaryConv2d(7, 8, 3, padding=1, bias=False)
    x = torch.randn(4, 64) if layer_type == "linear" else torch.randn(2, 7, 6, 6)
    layer.set_binary(True, True)
    reference = layer(x)
    reference.pow(2).sum().backward()
    grad, layer.weight.grad = layer.weight.grad, None
    layer.binary_dtype = torch.bfloat16
    out = layer(x)
    # sums of at most 64 products of ±1 are integers below 256, exact in bf16
    assert out.dtype == torch.float32 and torch.equal(out, reference)
    out.pow(2).sum().backward()
    torch.testing.assert_close(layer.weight.grad, grad, rtol=2e-2, atol=1e-2)


def test_binary_bf16_leaves_layers_with_a_real_operand_in_float32():
    torch.manual_seed(0)
    layer = BinaryLinear(64, 8)
    layer.set_binary(True, False)
    x = torch.randn(4, 64)
    reference = layer(x)
    layer.binary_dtype = torch.bfloat16
    assert torch.equal(layer(x), reference)


def test_under_autocast_binary_values_are_made_in_the_autocast_dtype():
    torch.manual_seed(0)
    layer = BinaryLinear(16, 4)
    layer.configure(scaling="channel_mean")
    layer.set_binary(True, True)
    x = torch.randn(3, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x)
    expected = F.linear(
        torch.where(x >= 0, 1.0, -1.0).bfloat16(), layer.effective_weight().bfloat16(), layer.bias.bfloat16()
    )
    assert out.dtype == torch.bfloat16 and torch.equal(out, expected)


# ---- workspaces (bnn/nn/workspace.py) ---------------------------------------------------------------


def test_workspace_lends_a_tensor_again_only_once_given_back():
    space, like = Workspace(), torch.zeros(3, 4)
    first = space.take("value", like)
    second = space.take("value", like)
    assert second is not first  # the first is still lent
    space.give("value", first)
    assert space.take("value", like) is first
    assert space.take("value", like) is not first
    space.give("scratch", first)
    assert space.take("value", like) is not first  # roles do not share
    assert space.take("scratch", like, torch.bfloat16).dtype == torch.bfloat16  # one that does not fit: a new one


@pytest.mark.parametrize(
    "binary", [{}, {"weight_estimator": "ede", "act_estimator": "ede", "scaling": "libra_pb", "sign_zero": "zero"}]
)
def test_training_forwards_reuse_their_tensors_yet_two_graphs_stay_exact(binary):
    torch.manual_seed(0)
    layer = BinaryLinear(12, 5)
    layer.configure(**binary)
    layer.set_binary(True, True)
    x1, x2 = torch.randn(4, 12, requires_grad=True), torch.randn(4, 12, requires_grad=True)  # as a hidden layer's
    separate = []
    for x in (x1, x2):
        layer(x).pow(2).sum().backward()
        separate.append(layer.weight.grad.clone())
        layer.weight.grad = None
    (layer(x1).pow(2).sum() + layer(x2).pow(2).sum()).backward()  # both graphs alive at once
    torch.testing.assert_close(layer.weight.grad, separate[0] + separate[1])
    layer.weight.grad = None
    pointers = pointers_of_products(layer)
    for _ in range(3):  # step after step: the same tensors
        layer(x1).pow(2).sum().backward()
    assert len(pointers) == 1


def test_a_layer_runs_in_and_out_of_inference_mode_alternately():
    """A tensor made under torch.inference_mode cannot be written outside it: the workspace makes a new one."""
    layer = irnet_layer().eval()
    x = torch.randn(4, 12)
    with torch.inference_mode():
        inferred = layer(x)
    with torch.no_grad():
        assert torch.equal(layer(x), inferred)
    layer.train()
    layer(x).pow(2).sum().backward()
    with torch.inference_mode():
        assert not layer(x).requires_grad


def pointers_of_products(layer: BinaryLinear) -> set:
    """Records (input, weight) addresses of every product of ``layer`` from now on."""
    product, pointers = layer.op, set()
    layer.op = lambda x, weight: (pointers.add((x.data_ptr(), weight.data_ptr())), product(x, weight))[1]
    return pointers


def test_a_forward_without_backward_and_eval_forwards_leave_training_exact():
    torch.manual_seed(0)
    layer, reference = irnet_layer(), irnet_layer()
    x1, x2 = torch.randn(4, 12), torch.randn(4, 12)
    layer(x2).pow(2).sum()  # a graph dropped without backward: its tensors are never lent again
    with torch.no_grad():
        layer.eval()(x2)  # no graph: given back at once
    layer.train()
    for model in (layer, reference):
        model(x1).pow(2).sum().backward()
    assert torch.equal(layer.weight.grad, reference.weight.grad)
    pointers = pointers_of_products(layer.eval())
    with torch.no_grad():
        for _ in range(3):
            layer(x1)
    assert len({x for x, _ in pointers}) == 1  # eval forwards reuse their binary input


def test_a_retained_graph_gives_its_tensors_back_once_and_fails_rather_than_reads_overwritten_values():
    layer, reference = irnet_layer(), irnet_layer()
    x1, x2 = torch.randn(4, 12, requires_grad=True), torch.randn(4, 12, requires_grad=True)
    loss = layer(x1).pow(2).sum()
    loss.backward(retain_graph=True)
    loss.backward()  # the same nodes again: their tensors are not given back twice
    layer.weight.grad = None
    for model in (layer, reference):  # two graphs alive: two distinct sets of tensors
        (model(x1).pow(2).sum() + model(x2).pow(2).sum()).backward()
    assert torch.equal(layer.weight.grad, reference.weight.grad)
    loss = layer(x1).pow(2).sum()
    loss.backward(retain_graph=True)
    layer(x1).pow(2).sum().backward()  # writes into the tensors the first graph saved
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
