"""SD-BNN's self-distribution binary conv: WSD and ASD (docs/methods.md §3.2)."""

import pytest
import torch
import torch.nn.functional as F

from bnn.errors import BnnError
from bnn.nn import SDBinaryConv2d, binary_layers
from bnn.nn.self_distribution import SqueezeExcite


def sd_conv(c_in: int = 4, c_out: int = 3) -> SDBinaryConv2d:
    torch.manual_seed(0)
    conv = SDBinaryConv2d(c_in, c_out, 3, padding=1)
    conv.configure(weight_estimator="ede", act_estimator="ede", sign_zero="zero")
    return conv


def test_sd_conv_is_a_plain_conv_with_switches_off():
    conv = sd_conv()
    x = torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(conv(x), F.conv2d(x, conv.weight, padding=1))
    assert conv.bias is None and len(binary_layers(torch.nn.Sequential(conv))) == 1


def test_wsd_shifts_weights_by_sigmoid_alpha_times_a_hundredth_of_channel_mean():
    conv = sd_conv(1, 2)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0] * 8 + [-0.002]).view(1, 1, 3, 3).repeat(2, 1, 1, 1))
        conv.alpha.copy_(torch.tensor([0.0, -10.0]))
    conv.set_binary(True, False)
    mean = (8 - 0.002) / 9
    # channel 0: -0.002 + 0.5 * 0.01 * mean > 0 flips to +1; channel 1: sigmoid(-10) * 0.01 * mean is too small
    shifted = torch.sigmoid(torch.tensor([0.0, -10.0])) * 0.01 * mean
    assert shifted[0] > 0.002 > shifted[1]
    w = conv.effective_weight().detach()
    assert w[0].flatten().tolist() == [1.0] * 9
    assert w[1].flatten().tolist() == [1.0] * 8 + [-1.0]
    x = torch.ones(1, 1, 3, 3)
    assert conv(x)[0, :, 1, 1].tolist() == [9.0, 7.0]
    conv(x).sum().backward()
    assert conv.alpha.grad.abs().min() > 0 and conv.asd.body[0].weight.grad is None


def test_asd_shifts_the_input_by_the_se_output_before_the_sign():
    conv = sd_conv()
    conv.set_binary(False, True)
    x = torch.randn(2, 4, 5, 5) + 0.3
    se = conv.asd.body
    with torch.no_grad():  # keep the one hidden ReLU unit alive
        se[0].weight.abs_()
    shift = torch.sigmoid(F.linear(F.relu(F.linear(x.mean(dim=(2, 3)), se[0].weight)), se[2].weight))
    assert se[0].weight.shape == (1, 4)  # C // 16 guarded to 1
    expected = F.conv2d(torch.sign(x + shift[:, :, None, None]), conv.weight, padding=1)
    out = conv(x)
    torch.testing.assert_close(out, expected)
    assert not torch.allclose(out, F.conv2d(torch.sign(x), conv.weight, padding=1))
    out.sum().backward()
    assert se[0].weight.grad.abs().min() > 0 and se[2].weight.grad.abs().min() > 0
    assert conv.alpha.grad is None


def test_sd_conv_with_both_switches_and_hidden_width():
    conv = SDBinaryConv2d(64, 8, 3, stride=2, padding=1)
    conv.set_binary(True, True)
    assert conv.asd.body[0].weight.shape == (4, 64)
    out = conv(torch.randn(2, 64, 6, 6))
    assert out.shape == (2, 8, 3, 3)
    assert set(conv.effective_weight().detach().unique().tolist()) <= {-1.0, 1.0}


def test_sd_conv_refuses_a_weight_scale():
    with pytest.raises(BnnError, match="binary.scaling: 'channel_mean' does not apply to SD-BNN"):
        SDBinaryConv2d(4, 4, 3).configure(scaling="channel_mean")


def test_binary_bf16_keeps_the_asd_block_in_float32():
    conv = sd_conv(16, 4)
    conv.set_binary(True, True)
    conv.binary_dtype = torch.bfloat16
    dtypes = []
    conv.asd.register_forward_hook(lambda module, args, out: dtypes.append(out.dtype))
    out = conv(torch.randn(2, 16, 5, 5))
    assert dtypes == [torch.float32] and out.dtype == torch.float32


def test_the_se_block_is_he_normal_initialised_as_sd_bnns_resnets():
    """SD-BNN's ResNet constructors He-initialise every nn.Linear, the SE blocks' included (docs/methods.md §3.2):
    std sqrt(2 / fan_in), 2.4x PyTorch's default Linear init."""
    torch.manual_seed(0)
    se = SqueezeExcite(256).body
    for layer in (se[0], se[2]):
        expected = (2.0 / layer.in_features) ** 0.5
        assert abs(layer.weight.std().item() / expected - 1.0) < 0.15
