import pytest
import torch
import torch.nn.functional as F

from bnn.errors import BnnError
from bnn.nn import BinaryConv2d, BinaryLinear, build_estimator, sign

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
