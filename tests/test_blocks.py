"""ReActNet's LearnableBias, RSign and RPReLU (docs/methods.md §4.1)."""

import torch

from bnn.nn import LearnableBias, RPReLU, RSign


def test_learnable_bias_starts_at_zero_and_shifts_each_channel():
    block = LearnableBias(3)
    x = torch.randn(2, 3, 4, 4)
    assert torch.equal(block(x), x)
    with torch.no_grad():
        block.bias.copy_(torch.tensor([1.0, -2.0, 0.5]))
    torch.testing.assert_close(block(x), x + torch.tensor([1.0, -2.0, 0.5]).view(1, 3, 1, 1))
    block(x).sum().backward()
    torch.testing.assert_close(block.bias.grad, torch.full((3,), 2.0 * 16))
    assert block(torch.zeros(5, 3)).shape == (5, 3)


def test_rsign_is_sign_of_shifted_input_with_approx_sign_gradient():
    block = RSign(2)
    with torch.no_grad():
        block.shift.bias.copy_(torch.tensor([0.5, -0.25]))
    x = torch.tensor([[[[-0.75]], [[0.0]]], [[[-0.5]], [[0.75]]]], requires_grad=True)  # (2, 2, 1, 1)
    out = block(x)
    shifted = torch.tensor([[-0.25, -0.25], [0.0, 0.5]])
    assert out.shape == (2, 2, 1, 1)
    assert out.flatten(1).tolist() == torch.sign(shifted).tolist()
    out.sum().backward()
    expected = 2 - 2 * shifted.abs()  # ApproxSign, §0.2-3
    torch.testing.assert_close(x.grad.flatten(1), expected)
    torch.testing.assert_close(block.shift.bias.grad, expected.sum(0))


def test_rprelu_is_shift_prelu_shift():
    block = RPReLU(2)
    with torch.no_grad():
        block.shift_in.bias.copy_(torch.tensor([1.0, -1.0]))
        block.shift_out.bias.copy_(torch.tensor([0.5, 0.0]))
    x = torch.tensor([[-3.0, 2.0], [0.0, 0.5]], requires_grad=True)
    out = block(x)
    inner = x.detach() + torch.tensor([1.0, -1.0])
    expected = torch.where(inner >= 0, inner, 0.25 * inner) + torch.tensor([0.5, 0.0])
    torch.testing.assert_close(out, expected)
    out.sum().backward()
    torch.testing.assert_close(x.grad, torch.where(inner >= 0, 1.0, 0.25))
    torch.testing.assert_close(block.prelu.weight.grad, torch.tensor([-2.0, -0.5]))
    assert RPReLU(4)(torch.randn(2, 4, 3, 3)).shape == (2, 4, 3, 3)
