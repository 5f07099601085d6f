"""Estimators (docs/methods.md §0.1, §0.2) and scalings (§0.3) against reference implementations of their definitions.

The references below are the definitions as autograd sees them: the value sign(x) + (F(x) - stopgrad F(x))
for the surrogate F, times a detached scale; the tests compare the library's forward values and
gradients with them, bit for bit (``torch.equal``) except where noted, on values that include 0, -0,
±1, the clip bounds and their float neighbours.
"""

import math

import pytest
import torch

from bnn.errors import BnnError
from bnn.nn import ESTIMATORS, BinaryConv2d, BinaryLinear, build_estimator, configure_binary
from bnn.nn.estimators import SIGN_ZERO
from bnn.nn.scaling import SCALINGS
from bnn.train.callbacks import find_callbacks

ONE_UP, ONE_DOWN = 1 + 2.0**-23, 1 - 2.0**-24  # float32 neighbours of 1
X = torch.tensor(
    [-2.0, -ONE_UP, -1.0, -ONE_DOWN, -0.75, -0.5, -1e-30, -0.0, 0.0, 1e-30, 0.25, 0.5, ONE_DOWN, 1.0, ONE_UP, 2.0]
)
WIDE = torch.cat([X, torch.randn(200, generator=torch.Generator().manual_seed(0)) * 1.5])


# ---- reference definitions ----------------------------------------------------------------------


def ref_sign(x: torch.Tensor, zero: str) -> torch.Tensor:
    """signP (0 -> +1) or sign0 (§0.1)."""
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x)) if zero == "plus" else torch.sign(x)


def ref_surrogate(name: str, x: torch.Tensor, k: float, t: float) -> torch.Tensor:
    """F of §0.2 whose derivative is the backward pass."""
    if name in ("ste", "hysteresis"):
        return x
    if name in ("clipped_ste", "stochastic"):
        return torch.where(x.abs() <= 1.0, x, x.detach())
    if name == "approx_sign":
        c = x.clamp(-1.0, 1.0)
        return c * (2.0 - c.abs())
    return k * torch.tanh(t * x)  # ede


def ref_value(name: str, x: torch.Tensor, zero: str, training: bool, previous=None, threshold=1e-8):
    if name == "stochastic" and training:
        p_plus = ((x + 1.0) / 2.0).clamp(0.0, 1.0)
        return torch.where(torch.rand_like(x) < p_plus, torch.ones_like(x), -torch.ones_like(x))
    value = ref_sign(x, zero)
    if name == "hysteresis" and previous is not None and previous.shape == x.shape:
        value = torch.where(x.abs() > threshold, value, previous)
    return value


def reference(name, x, zero="plus", training=True, k=10.0, t=0.1, previous=None, scale=None, threshold=1e-8):
    f = ref_surrogate(name, x, k, t)
    out = ref_value(name, x, zero, training, previous, threshold) + (f - f.detach())
    return out if scale is None else scale * out


def ede_schedule(epoch: int, epochs: int, t_min: float = 1e-3, t_max: float = 10.0) -> tuple[float, float]:
    t = 10 ** (math.log10(t_min) + (math.log10(t_max) - math.log10(t_min)) * epoch / epochs)
    return max(1.0, 1.0 / t), t


def value_and_grad(fn, x: torch.Tensor, upstream: torch.Tensor | None = None):
    x = x.clone().requires_grad_(True)
    out = fn(x)
    upstream = torch.linspace(-3.0, 5.0, out.numel()).view_as(out).to(out.dtype) if upstream is None else upstream
    (out * upstream).sum().backward()
    return out.detach(), x.grad


def assert_same(new, old):
    assert new[0].dtype == old[0].dtype and torch.equal(new[0], old[0]), (new[0], old[0])
    assert torch.equal(new[1], old[1]), (new[1], old[1])


# ---- every estimator x sign_zero x train/eval, bit for bit ----------------------------------------


@pytest.mark.parametrize("name", ESTIMATORS.names())
@pytest.mark.parametrize("zero", SIGN_ZERO)
@pytest.mark.parametrize("training", [True, False])
def test_estimator_equals_its_definition(name, zero, training):
    estimator = build_estimator(name, zero).train(training)
    torch.manual_seed(3)
    new = value_and_grad(estimator, WIDE)
    torch.manual_seed(3)
    assert_same(new, value_and_grad(lambda x: reference(name, x, zero, training), WIDE))


@pytest.mark.parametrize("zero", SIGN_ZERO)
@pytest.mark.parametrize("epoch,epochs,t_min", [(0, 5, 1e-3), (2, 5, 1e-3), (4, 5, 1e-3), (3, 4, 0.1)])
def test_ede_equals_its_definition_along_the_schedule(zero, epoch, epochs, t_min):
    estimator = build_estimator({"name": "ede", "t_min": t_min}, zero)
    estimator.on_epoch_start(epoch, epochs)
    k, t = ede_schedule(epoch, epochs, t_min)
    assert_same(
        value_and_grad(estimator, WIDE * 3), value_and_grad(lambda x: reference("ede", x, zero, k=k, t=t), WIDE * 3)
    )


@pytest.mark.parametrize("zero", SIGN_ZERO)
def test_hysteresis_equals_its_definition_over_consecutive_calls(zero):
    estimator = build_estimator({"name": "hysteresis", "threshold": 0.3}, zero)
    first, second = WIDE, torch.flip(WIDE, [0]) * 0.2
    previous = ref_value("hysteresis", first, zero, True)
    assert_same(value_and_grad(estimator, first), value_and_grad(lambda x: reference("hysteresis", x, zero), first))
    expected = value_and_grad(lambda x: reference("hysteresis", x, zero, previous=previous, threshold=0.3), second)
    assert_same(value_and_grad(estimator, second), expected)
    assert not torch.equal(expected[0], ref_sign(second, zero))  # the band kept some previous signs


@pytest.mark.parametrize("name", ESTIMATORS.names())
def test_bf16_value_is_the_cast_definition_and_the_gradient_unchanged(name):
    estimator = build_estimator(name, "zero")
    upstream = torch.linspace(-3.0, 5.0, WIDE.numel()).to(torch.bfloat16)
    torch.manual_seed(5)
    new = value_and_grad(lambda x: estimator(x, None, torch.bfloat16), WIDE, upstream)
    torch.manual_seed(5)
    assert_same(new, value_and_grad(lambda x: reference(name, x, "zero").to(torch.bfloat16), WIDE, upstream))


# ---- hand-derived backward formulas (§0.2) -------------------------------------------------------


def test_approx_sign_backward_is_two_minus_two_abs_x_inside_unit_interval():
    out, grad = value_and_grad(build_estimator("approx_sign", zero="zero"), X, torch.ones_like(X))
    assert out.tolist() == [-1, -1, -1, -1, -1, -1, -1, 0, 0, 1, 1, 1, 1, 1, 1, 1]
    expected = [2 - 2 * abs(v) if abs(v) < 1 else 0.0 for v in X.tolist()]
    torch.testing.assert_close(grad, torch.tensor(expected))


def test_clipped_ste_passes_the_gradient_on_the_closed_interval():
    _, grad = value_and_grad(build_estimator("clipped_ste"), X, torch.ones_like(X))
    assert grad.tolist() == [float(abs(v) <= 1) for v in X.tolist()]


def test_ede_before_any_schedule_call_uses_k10_t01():
    _, grad = value_and_grad(build_estimator("ede"), X, torch.ones_like(X))
    torch.testing.assert_close(grad, torch.tensor([10 * 0.1 * (1 - math.tanh(0.1 * v) ** 2) for v in X.tolist()]))


def test_ede_late_epoch_is_a_sharp_bump_and_early_epoch_is_flat():
    estimator = build_estimator({"name": "ede", "t_min": 0.1, "t_max": 10})
    estimator.on_epoch_start(0, 4)  # t = 0.1, k = 10: k*t = 1, nearly flat
    _, early = value_and_grad(estimator, X, torch.ones_like(X))
    assert early[8].item() == pytest.approx(1.0) and early[0].item() == pytest.approx(1 - math.tanh(0.2) ** 2)
    estimator.on_epoch_start(3, 4)  # t = 10^0.5, k = 1: bump of height t at 0
    _, late = value_and_grad(estimator, X, torch.ones_like(X))
    assert late[8].item() == pytest.approx(10**0.5, rel=1e-6) and late[0].item() < 1e-3


def test_stochastic_sign_draws_plus_one_with_hard_sigmoid_probability():
    torch.manual_seed(0)
    values = torch.tensor([-1.5, -0.5, 0.0, 0.5, 1.5])
    out = build_estimator("stochastic")(values.repeat(20000, 1))
    assert set(out.unique().tolist()) == {-1.0, 1.0}
    torch.testing.assert_close((out == 1).float().mean(0), ((values + 1) / 2).clamp(0, 1), atol=0.012, rtol=0)


def test_stochastic_layer_follows_train_and_eval_mode():
    torch.manual_seed(1)
    layer = BinaryLinear(64, 8, bias=False)
    layer.configure(act_estimator="stochastic")
    layer.set_binary(False, True)
    x = torch.rand(16, 64) - 0.5
    assert not torch.equal(layer.train()(x), layer(x))
    expected = torch.nn.functional.linear(torch.where(x >= 0, 1.0, -1.0), layer.weight)
    assert torch.equal(layer.eval()(x), expected) and torch.equal(layer(x), expected)


# ---- options and errors ---------------------------------------------------------------------------


def test_ede_options_are_checked_with_the_key():
    with pytest.raises(BnnError, match=r"binary.act_estimator.t_min: -1 must be a number > 0"):
        build_estimator({"name": "ede", "t_min": -1}, key="binary.act_estimator")
    with pytest.raises(
        BnnError,
        match=r"binary.weight_estimator.tmin: not an option of estimator 'ede'; "
        r"its options are: t_max, t_min",
    ):
        build_estimator({"name": "ede", "tmin": 0.1}, key="binary.weight_estimator")
    with pytest.raises(BnnError, match=r"binary.weight_estimator.t_min: 20 is larger than t_max 10"):
        build_estimator({"name": "ede", "t_min": 20, "t_max": 10}, key="binary.weight_estimator")
    with pytest.raises(BnnError, match=r"binary.weight_estimator.t_min: not an option of estimator 'ste'"):
        build_estimator({"name": "ste", "t_min": 0.1}, key="binary.weight_estimator")
    with pytest.raises(BnnError, match=r"binary.weight_estimator: \{'t_min': 0.1\} is not an estimator name"):
        build_estimator({"t_min": 0.1}, key="binary.weight_estimator")


def test_sign_zero_must_be_plus_or_zero():
    with pytest.raises(BnnError, match="binary.sign_zero: 'one' is not one of plus, zero"):
        BinaryLinear(2, 2).configure(sign_zero="one")


# ---- state: buffers, the loop protocol, loading ---------------------------------------------------


def test_the_loop_protocol_reaches_every_ede_and_its_state_is_in_the_state_dict():
    model = torch.nn.Sequential(BinaryLinear(4, 4), BinaryLinear(4, 2))
    configure_binary(model, weight_estimator={"name": "ede", "t_min": 0.01}, act_estimator="ede")
    for part in find_callbacks(model):
        part.on_epoch_start(1, 2)
    state = model.state_dict()
    for i in range(2):
        assert state[f"{i}.weight_estimator.t"].item() == torch.tensor(ede_schedule(1, 2, 0.01)[1]).item()
        assert state[f"{i}.act_estimator.t"].item() == torch.tensor(ede_schedule(1, 2, 1e-3)[1]).item()
        assert state[f"{i}.act_estimator.k"].item() == torch.tensor(ede_schedule(1, 2, 1e-3)[0]).item()
    fresh = torch.nn.Sequential(BinaryLinear(4, 4), BinaryLinear(4, 2))
    configure_binary(fresh, weight_estimator={"name": "ede", "t_min": 0.01}, act_estimator="ede")
    fresh.load_state_dict(state)
    assert fresh[1].act_estimator.t.item() == state["1.act_estimator.t"].item()


def test_estimator_state_is_optional_when_loading():
    """A checkpoint of another estimator (or one written before the state was saved) loads; the state stays."""
    ede, clipped = BinaryLinear(3, 2), BinaryLinear(3, 2)
    ede.configure(weight_estimator="ede")
    ede.weight_estimator.on_epoch_start(1, 2)
    result = clipped.load_state_dict(ede.state_dict(), strict=False)
    assert not result.missing_keys and not result.unexpected_keys
    fresh = BinaryLinear(3, 2)
    fresh.configure(weight_estimator="ede")
    result = fresh.load_state_dict(clipped.state_dict(), strict=False)
    assert not result.missing_keys and not result.unexpected_keys
    assert fresh.weight_estimator.t.item() == pytest.approx(0.1) and torch.equal(fresh.weight, ede.weight)


def test_hysteresis_previous_value_survives_a_state_dict_round_trip_both_ways():
    layer = BinaryLinear(5, 3)
    layer.configure(weight_estimator={"name": "hysteresis", "threshold": 0.5})
    layer.set_binary(True, False)
    assert layer.state_dict()["weight_estimator.previous"].numel() == 0  # empty before any training call
    layer.train().effective_weight()
    saved = layer.state_dict()
    assert torch.equal(saved["weight_estimator.previous"], ref_sign(layer.weight.detach(), "plus"))
    restored = BinaryLinear(5, 3)
    restored.configure(weight_estimator={"name": "hysteresis", "threshold": 0.5})
    restored.load_state_dict(saved)  # empty <- 3x5
    assert torch.equal(restored.weight_estimator.previous, saved["weight_estimator.previous"])
    blank = BinaryLinear(5, 3)
    blank.configure(weight_estimator={"name": "hysteresis", "threshold": 0.5})
    restored.load_state_dict(blank.state_dict())  # 3x5 <- empty
    assert restored.weight_estimator.previous.numel() == 0


# ---- scalings (§0.3) ------------------------------------------------------------------------------

W = torch.tensor([[1.0, 2.0, 3.0, 6.0], [1.0, -1.0, 1.0, -1.0]])
# Libra-PB rows whose W_hat hits exactly 0, ±1 (the clip bounds) and a value just inside: rows (-a, 0, a)
# have mean 0 and unbiased std a, so W_hat is (-1, 0, 1)
BOUNDS = torch.tensor([[-0.5, 0.0, 0.5], [0.25, -0.25, 0.0], [3.0, -3.0, 0.0], [0.0, 0.75, -0.75]])


def ref_scaling(name: str, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    dims = tuple(range(1, w.dim()))
    if name == "none":
        return w, None
    if name == "channel_mean":
        return w, w.detach().abs().mean(dim=dims, keepdim=True)
    standard = (w - w.mean(dim=dims, keepdim=True)) / w.std(dim=dims, keepdim=True)
    return standard, torch.exp2(torch.round(torch.log2(standard.detach().abs().mean(dim=dims, keepdim=True))))


def scaled_pair(scaling: str, name: str, zero: str, w: torch.Tensor):
    """(library, reference) value and gradient of the binary weight of ``w``, each from the same random state."""

    def library(x):
        return SCALINGS.get(scaling).binary(x, build_estimator(name, zero).train())[0]

    def definition(x):
        to_sign, scale = ref_scaling(scaling, x)
        return reference(name, to_sign, zero, scale=scale)

    state = torch.get_rng_state()
    new = value_and_grad(library, w)
    torch.set_rng_state(state)
    return new, value_and_grad(definition, w)


@pytest.mark.parametrize("scaling", ["none", "channel_mean"])
@pytest.mark.parametrize("name", ESTIMATORS.names())
@pytest.mark.parametrize("zero", SIGN_ZERO)
def test_scaled_binary_weight_equals_its_definition(scaling, name, zero):
    assert_same(*scaled_pair(scaling, name, zero, WIDE[:208].view(16, 13) * 0.7))


@pytest.mark.parametrize("name", ["ede", "ste", "clipped_ste", "approx_sign"])
@pytest.mark.parametrize("zero", SIGN_ZERO)
def test_libra_pb_equals_its_definition_where_both_stds_agree(name, zero):
    """Rows whose std is exact in both computations (BOUNDS, W_hat at 0 and ±1): the backward is autograd's."""
    assert_same(*scaled_pair("libra_pb", name, zero, BOUNDS))


@pytest.mark.parametrize("name", ["ede", "ste"])
@pytest.mark.parametrize("zero", SIGN_ZERO)
@pytest.mark.parametrize("shape", [(16, 13), (8, 3, 3, 3), (4, 1, 3, 3), (6, 3, 1, 1)])
def test_libra_pb_is_close_to_its_definition(name, zero, shape):
    """The two-pass std differs from torch.std's Welford loop by a few ulps, so W_hat and the gradient agree to
    float32 rounding (rtol 2e-6 on W_hat, 1e-5 of each channel's largest gradient); the binary value is equal
    (the sign of W_hat does not depend on the std, s_c only at a rounding tie of log2 mean|W_hat|: with 2 weights
    per channel, W_hat = ±1/sqrt(2) always sits on that tie, so no such shape here)."""
    w = torch.randn(shape, generator=torch.Generator().manual_seed(7)) * 0.05 + 0.01
    new, old = scaled_pair("libra_pb", name, zero, w)
    assert torch.equal(new[0], old[0])
    channel_max = old[1].abs().amax(dim=tuple(range(1, len(shape))), keepdim=True)
    assert ((new[1] - old[1]).abs() <= 1e-5 * channel_max).all()
    standard = SCALINGS.get("libra_pb").binary(w, build_estimator(name, zero))[1]
    torch.testing.assert_close(standard, ref_scaling("libra_pb", w)[0], rtol=2e-6, atol=0)


def test_channel_mean_scale_is_mean_abs_per_channel():
    torch.testing.assert_close(SCALINGS.get("channel_mean").scale(W), torch.tensor([[3.0], [1.0]]))
    assert SCALINGS.get("none").scale(W) is None


def test_libra_pb_standardises_and_scales_by_a_power_of_two():
    # channel 0: mean 3, unbiased std sqrt(14/3); mean |W_hat| = 6 / (4 sqrt(14/3)) = 0.694 -> 2^-1
    # channel 1: mean 0, unbiased std sqrt(4/3); mean |W_hat| = 0.866 -> 2^0
    std0, std1 = math.sqrt(14 / 3), math.sqrt(4 / 3)
    expected = torch.tensor([[-2 / std0, -1 / std0, 0.0, 3 / std0], [1 / std1, -1 / std1, 1 / std1, -1 / std1]])
    value, standard = SCALINGS.get("libra_pb").binary(W, build_estimator("ede", "zero"))
    torch.testing.assert_close(standard, expected)
    assert value.tolist() == [[-0.5, -0.5, 0.0, 0.5], [1.0, -1.0, 1.0, -1.0]]


@pytest.mark.parametrize("zero,third", [("zero", 0.0), ("plus", 0.5)])
def test_libra_pb_layer_weight_is_power_of_two_times_sign(zero, third):
    layer = BinaryLinear(4, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(W)
    layer.configure(weight_estimator="ede", scaling="libra_pb", sign_zero=zero)
    layer.set_binary(True, False)
    expected = torch.tensor([[-0.5, -0.5, third, 0.5], [1.0, -1.0, 1.0, -1.0]])
    assert torch.equal(layer.effective_weight().detach(), expected)


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
    scale = ref_scaling("libra_pb", w.detach())[1]
    (scale * (w - mean) / std * upstream).sum().backward()
    torch.testing.assert_close(layer.weight.grad, w.grad)
    assert not torch.allclose(layer.weight.grad, scale * upstream)
