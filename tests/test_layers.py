import pytest
import torch
import torch.nn.functional as F

from bnn.errors import BnnError
from bnn.nn import BinaryConv2d, BinaryLinear, build_estimator, sign
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


# ---- state and caching (bnn/nn/cache.py) -----------------------------------------------------------


def irnet_layer(seed: int = 0) -> BinaryLinear:
    torch.manual_seed(seed)
    layer = BinaryLinear(12, 5)
    layer.configure(weight_estimator="ede", act_estimator="ede", scaling="libra_pb", sign_zero="zero")
    layer.set_binary(True, True)
    return layer


def fresh_binary_weight(layer: BinaryLinear) -> torch.Tensor:
    """The binary weight computed from scratch, as a twin layer with the same parameters gives it."""
    twin = irnet_layer()
    twin.load_state_dict(layer.state_dict())
    return twin.train().effective_weight().detach()


def test_estimator_state_is_in_the_layer_state_dict():
    keys = set(irnet_layer().state_dict())
    assert {"weight_estimator.k", "weight_estimator.t", "act_estimator.k", "act_estimator.t"} <= keys


def test_eval_binary_weight_is_computed_once_and_never_stale():
    layer = irnet_layer().eval()
    with torch.no_grad():
        first = layer.effective_weight()
        assert layer.effective_weight() is first  # reused while nothing changed
    optimizer = torch.optim.SGD(layer.parameters(), lr=1.0)
    layer.train()
    layer(torch.randn(4, 12)).pow(2).sum().backward()
    optimizer.step()  # an optimizer step changes W in place
    layer.eval()
    with torch.no_grad():
        after_step = layer.effective_weight()
    assert after_step is not first and torch.equal(after_step, fresh_binary_weight(layer))
    other = irnet_layer(seed=1)
    layer.load_state_dict(other.state_dict())  # load_state_dict copies in place
    with torch.no_grad():
        assert torch.equal(layer.effective_weight(), fresh_binary_weight(other))
        layer.weight.copy_(-layer.weight)  # any in-place change
        assert torch.equal(layer.effective_weight(), fresh_binary_weight(layer))


def test_switches_configuration_and_mode_are_never_served_from_the_cache():
    layer = irnet_layer().eval()
    with torch.no_grad():
        layer.effective_weight()
        layer.set_binary(False, True)
        assert layer.effective_weight() is layer.weight
        layer.set_binary(True, True)
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


def test_real_weight_is_the_forwards_until_a_parameter_changes():
    layer = irnet_layer().train()
    layer(torch.randn(4, 12))
    with torch.no_grad():
        kept = layer.real_weight()
        assert layer.real_weight() is kept
        torch.testing.assert_close(
            kept,
            (layer.weight - layer.weight.mean(1, keepdim=True)) / layer.weight.std(1, keepdim=True),
            rtol=2e-6,
            atol=0,
        )
        layer.weight.add_(0.5 * torch.randn(5, 12))
        moved = layer.real_weight()
    assert moved is not kept
    torch.testing.assert_close(
        moved,
        (layer.weight - layer.weight.mean(1, keepdim=True)) / layer.weight.std(1, keepdim=True),
        rtol=2e-6,
        atol=0,
    )
    assert layer.real_weight().requires_grad  # with autograd: computed, with its graph


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


def test_workspace_reuses_a_tensor_only_while_nothing_else_holds_it():
    space, like = Workspace(), torch.zeros(3, 4)
    first = space.take("value", like)
    assert space.take("value", like) is first  # nothing else holds it
    view = first[0]
    assert space.take("value", like) is not first  # a view of it is alive
    del view
    kept = space.take("value", like)
    saved = torch.nn.functional.linear(torch.randn(2, 4, requires_grad=True), kept)  # a graph saved it
    assert space.take("value", like) is not kept
    saved.sum().backward()
    assert space.take("value", like, torch.bfloat16).dtype == torch.bfloat16


@pytest.mark.parametrize(
    "binary", [{}, {"weight_estimator": "ede", "act_estimator": "ede", "scaling": "libra_pb", "sign_zero": "zero"}]
)
def test_training_forwards_reuse_their_tensors_yet_two_graphs_stay_exact(binary):
    torch.manual_seed(0)
    layer = BinaryLinear(12, 5)
    layer.configure(**binary)
    layer.set_binary(True, True)
    x1, x2 = torch.randn(4, 12), torch.randn(4, 12)
    separate = []
    for x in (x1, x2):
        layer(x).pow(2).sum().backward()
        separate.append(layer.weight.grad.clone())
        layer.weight.grad = None
    (layer(x1).pow(2).sum() + layer(x2).pow(2).sum()).backward()  # both graphs alive at once
    torch.testing.assert_close(layer.weight.grad, separate[0] + separate[1])
    layer.weight.grad = None
    product, pointers = layer.op, set()
    layer.op = lambda x, weight: (pointers.add((x.data_ptr(), weight.data_ptr())), product(x, weight))[1]
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


def test_eval_binary_weight_is_fresh_after_a_fused_optimizer_step():
    """Fused optimizers change parameters without bumping their version counters."""
    layer = irnet_layer()
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.5, fused=True)
    layer.eval()
    with torch.no_grad():
        before = layer.effective_weight()
    layer(torch.randn(4, 12)).pow(2).sum().backward()  # eval mode, autograd on: trains
    optimizer.step()
    with torch.no_grad():
        after = layer.effective_weight()
    assert not torch.equal(after, before) and torch.equal(after, fresh_binary_weight(layer))
    layer.train()
    layer.weight.data.copy_(-layer.weight.data)  # .data edits bump no version either
    layer.eval()
    with torch.no_grad():
        assert torch.equal(layer.effective_weight(), fresh_binary_weight(layer))
