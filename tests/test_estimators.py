"""Estimators' backward passes against the hand-derived formulas (METHODS.md §0.2) and scalings' values (§0.3)."""

import math

import pytest
import torch

from bnn.errors import BnnError
from bnn.nn import BinaryConv2d, BinaryLinear, build_estimator, configure_binary, set_progress
from bnn.nn.scaling import SCALINGS

X = torch.tensor([-2.0, -1.0, -0.75, -0.5, 0.0, 0.25, 0.5, 1.0, 2.0])


def forward_and_grad(estimator, x: torch.Tensor, training: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Output and d out / d x, with a non-uniform upstream gradient divided out again."""
    x = x.clone().requires_grad_(True)
    upstream = torch.arange(1.0, x.numel() + 1).view_as(x)
    out = estimator(x, training)
    (out * upstream).sum().backward()
    return out.detach(), x.grad / upstream


def test_approx_sign_backward_is_two_minus_two_abs_x_inside_unit_interval():
    out, grad = forward_and_grad(build_estimator("approx_sign", zero="zero"), X)
    assert out.tolist() == [-1, -1, -1, -1, 0, 1, 1, 1, 1]
    expected = [2 - 2 * abs(v) if abs(v) < 1 else 0.0 for v in X.tolist()]
    torch.testing.assert_close(grad, torch.tensor(expected))


def ede_grad(x: float, t: float, k: float) -> float:
    """k * t * (1 - tanh^2(t x)) (§0.2-4)."""
    return k * t * (1.0 - math.tanh(t * x) ** 2)


def ede_schedule(epoch: int, epochs: int, t_min: float, t_max: float) -> tuple[float, float]:
    t = 10 ** (math.log10(t_min) + (math.log10(t_max) - math.log10(t_min)) * epoch / epochs)
    return t, max(1.0, 1.0 / t)


def test_ede_before_any_schedule_call_uses_k10_t01():
    out, grad = forward_and_grad(build_estimator("ede"), X)
    assert out.tolist() == [-1, -1, -1, -1, 1, 1, 1, 1, 1]
    torch.testing.assert_close(grad, torch.tensor([ede_grad(v, 0.1, 10.0) for v in X.tolist()]))


@pytest.mark.parametrize("epoch", [0, 7])
def test_ede_backward_follows_the_per_epoch_schedule(epoch):
    estimator = build_estimator("ede")
    estimator.set_progress(epoch, 8)
    t, k = ede_schedule(epoch, 8, 1e-3, 10.0)
    _, grad = forward_and_grad(estimator, X * 3)
    torch.testing.assert_close(grad, torch.tensor([ede_grad(3 * v, t, k) for v in X.tolist()]))


def test_ede_late_epoch_is_a_sharp_bump_and_early_epoch_is_flat():
    estimator = build_estimator({"name": "ede", "t_min": 0.1, "t_max": 10})
    estimator.set_progress(0, 4)                      # t = 0.1, k = 10: k*t = 1, nearly flat
    _, early = forward_and_grad(estimator, X)
    assert early[4].item() == pytest.approx(1.0) and early[0].item() == pytest.approx(1 - math.tanh(0.2) ** 2)
    estimator.set_progress(3, 4)                      # t = 10^0.5, k = 1: bump of height t at 0
    _, late = forward_and_grad(estimator, X)
    assert late[4].item() == pytest.approx(10 ** 0.5, rel=1e-6) and late[0].item() < 1e-3


def test_ede_options_are_checked_with_the_key():
    with pytest.raises(BnnError, match=r"binary.act_estimator.t_min: -1 must be a number > 0"):
        build_estimator({"name": "ede", "t_min": -1}, key="binary.act_estimator")
    with pytest.raises(BnnError, match=r"binary.weight_estimator.tmin: not an option of estimator 'ede'; "
                                       r"its options are: t_max, t_min"):
        build_estimator({"name": "ede", "tmin": 0.1}, key="binary.weight_estimator")
    with pytest.raises(BnnError, match=r"binary.weight_estimator.t_min: 20 is larger than t_max 10"):
        build_estimator({"name": "ede", "t_min": 20, "t_max": 10}, key="binary.weight_estimator")
    with pytest.raises(BnnError, match=r"binary.weight_estimator.t_min: not an option of estimator 'ste'"):
        build_estimator({"name": "ste", "t_min": 0.1}, key="binary.weight_estimator")
    with pytest.raises(BnnError, match=r"binary.weight_estimator: \{'t_min': 0.1\} is not an estimator name"):
        build_estimator({"t_min": 0.1}, key="binary.weight_estimator")


def test_set_progress_reaches_every_layer_estimator():
    model = torch.nn.Sequential(BinaryLinear(4, 4), BinaryLinear(4, 2))
    configure_binary(model, weight_estimator={"name": "ede", "t_min": 0.01}, act_estimator="ede")
    set_progress(model, 1, 2)
    for layer in model:
        assert layer.weight_estimator.t == pytest.approx(ede_schedule(1, 2, 0.01, 10.0)[0])
        assert layer.act_estimator.t == pytest.approx(ede_schedule(1, 2, 1e-3, 10.0)[0])


def test_stochastic_sign_draws_plus_one_with_hard_sigmoid_probability():
    torch.manual_seed(0)
    values = torch.tensor([-1.5, -0.5, 0.0, 0.5, 1.5])
    x = values.repeat(20000, 1)
    out = build_estimator("stochastic")(x, training=True)
    assert set(out.unique().tolist()) == {-1.0, 1.0}
    frequency = (out == 1).float().mean(0)
    torch.testing.assert_close(frequency, ((values + 1) / 2).clamp(0, 1), atol=0.012, rtol=0)


def test_stochastic_sign_is_deterministic_in_eval_and_clipped_in_backward():
    estimator = build_estimator("stochastic", zero="zero")
    out, grad = forward_and_grad(estimator, X, training=False)
    assert out.tolist() == [-1, -1, -1, -1, 0, 1, 1, 1, 1]
    assert grad.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    _, train_grad = forward_and_grad(estimator, X, training=True)
    assert train_grad.tolist() == grad.tolist()


def test_stochastic_layer_follows_train_and_eval_mode():
    torch.manual_seed(1)
    layer = BinaryLinear(64, 8, bias=False)
    layer.configure(act_estimator="stochastic")
    layer.set_binary(False, True)
    x = torch.rand(16, 64) - 0.5
    assert not torch.equal(layer.train()(x), layer(x))
    expected = torch.nn.functional.linear(torch.where(x >= 0, 1.0, -1.0), layer.weight)
    assert torch.equal(layer.eval()(x), expected) and torch.equal(layer(x), expected)


def test_sign_zero_must_be_plus_or_zero():
    with pytest.raises(BnnError, match="binary.sign_zero: 'one' is not one of plus, zero"):
        BinaryLinear(2, 2).configure(sign_zero="one")


# ---- scaling (§0.3) -------------------------------------------------------------------------------

W = torch.tensor([[1.0, 2.0, 3.0, 6.0], [1.0, -1.0, 1.0, -1.0]])


def test_no_scale_signs_the_weight_itself():
    to_sign, scale = SCALINGS.get("none")(W)
    assert to_sign is W and scale.item() == 1.0


def test_channel_mean_scale_is_mean_abs_per_channel():
    to_sign, scale = SCALINGS.get("channel_mean")(W)
    assert to_sign is W
    torch.testing.assert_close(scale, torch.tensor([[3.0], [1.0]]))


def test_libra_pb_standardises_and_scales_by_a_power_of_two():
    to_sign, scale = SCALINGS.get("libra_pb")(W)
    # channel 0: mean 3, unbiased std sqrt(14/3); mean |W_hat| = 6 / (4 sqrt(14/3)) = 0.694 -> 2^-1
    std0 = math.sqrt(14 / 3)
    # channel 1: mean 0, unbiased std sqrt(4/3); mean |W_hat| = 0.866 -> 2^0
    std1 = math.sqrt(4 / 3)
    expected = torch.tensor([[-2 / std0, -1 / std0, 0.0, 3 / std0], [1 / std1, -1 / std1, 1 / std1, -1 / std1]])
    torch.testing.assert_close(to_sign, expected)
    torch.testing.assert_close(scale, torch.tensor([[0.5], [1.0]]))


@pytest.mark.parametrize("zero,third", [("zero", 0.0), ("plus", 0.5)])
def test_libra_pb_layer_weight_is_power_of_two_times_sign(zero, third):
    layer = BinaryLinear(4, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(W)
    layer.configure(weight_estimator="ede", scaling="libra_pb", sign_zero=zero)
    layer.set_binary(True, False)
    expected = torch.tensor([[-0.5, -0.5, third, 0.5], [1.0, -1.0, 1.0, -1.0]])
    torch.testing.assert_close(layer.effective_weight().detach(), expected)


def test_libra_pb_gradient_flows_through_mean_and_std():
    torch.manual_seed(0)
    layer = BinaryConv2d(2, 3, 3, bias=False)
    layer.configure(weight_estimator="ste", scaling="libra_pb")
    layer.set_binary(True, False)
    upstream = torch.randn(3, 2, 3, 3)
    (layer.effective_weight() * upstream).sum().backward()
    # with identity STE the gradient is that of scale * (W - mean) / std, scale held constant
    w = layer.weight.detach().clone().requires_grad_(True)
    mean, std = w.mean(dim=(1, 2, 3), keepdim=True), w.std(dim=(1, 2, 3), keepdim=True)
    _, scale = SCALINGS.get("libra_pb")(w.detach())
    (scale * (w - mean) / std * upstream).sum().backward()
    torch.testing.assert_close(layer.weight.grad, w.grad)
    assert not torch.allclose(layer.weight.grad, scale * upstream)


def test_hysteresis_keeps_the_previous_sign_inside_the_band():
    from bnn.nn.estimators import build_estimator

    est = build_estimator({"name": "hysteresis", "threshold": 0.1})
    first = est(torch.tensor([0.5, -0.5, 0.05, -0.05]), training=True)
    assert first.tolist() == [1, -1, 1, -1]  # no history yet: plain sign
    x = torch.tensor([-0.05, 0.05, -0.5, 0.5], requires_grad=True)
    second = est(x, training=True)
    assert second.tolist() == [1, -1, -1, 1]  # |x| <= 0.1 keeps the previous sign; outside the band, sign(x)
    second.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0, 1.0]  # identity STE
    assert est(torch.tensor([0.05, 0.05]), training=False).tolist() == [1, 1]  # other shape: plain sign
