"""IR-Net's Libra-PB (docs/methods.md §0.3) as autograd functions with few full-size temporaries.

Per output channel c: W_hat_c = (W_c - mean_c) / std_c (unbiased std, gradients through mean and std),
s_c = 2^round(log2(mean |W_hat_c|)) detached, binary weight s_c * sign(W_hat_c).

The std is the two-pass ``||W_c - mean_c||_2 / sqrt(n - 1)`` (one vectorised pass over the centred
weight) rather than ``torch.std``'s Welford loop, which costs 25x more; the two agree to a few ulps,
and sign(W_hat) does not depend on the std at all. The backward is the one autograd computed on
``(W - W.mean()) / W.std()``: the same operations in the same order, its three contributions summed as
the autograd engine does (std's, then the direct one, then the mean's).
"""

from __future__ import annotations

import math

import torch

from bnn.nn.signs import finish, sign_buffer


def channel_dims(weight: torch.Tensor) -> tuple[int, ...]:
    """All dimensions but the output channel (dim 0)."""
    return tuple(range(1, weight.dim()))


def sum_to_channels(x: torch.Tensor) -> torch.Tensor:
    """``x`` summed to one value per output channel as autograd's broadcast reduction does it: over the
    dimensions of size > 1 but dim 0."""
    dims = [d for d in channel_dims(x) if x.shape[d] != 1]
    return x.sum(dim=dims, keepdim=True) if dims else x.clone()


def standardize(weight: torch.Tensor, out: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    """(mean, std, W_hat) per output channel; W_hat in ``out`` if given, else a new tensor."""
    dims = channel_dims(weight)
    mean = weight.mean(dim=dims, keepdim=True)
    standard = torch.sub(weight, mean) if out is None else torch.sub(weight, mean, out=out)
    std = torch.linalg.vector_norm(standard, 2, dims, keepdim=True).div_(math.sqrt(weight[0].numel() - 1))
    return mean, std, standard.div_(std)


def standardize_backward(weight, mean, std, standard, grad: torch.Tensor, work: torch.Tensor) -> torch.Tensor:
    """dL/dW from dL/dW_hat = ``grad``, which is overwritten and returned; ``work`` is a scratch tensor of
    the same shape."""
    n = weight[0].numel()
    work = torch.div(standard, std, out=work).mul_(grad)  # d std of centered / std: -sum(g * W_hat / std)
    grad_std = sum_to_channels(work).neg_()
    direct = torch.div(grad, std, out=work)  # d centered = g / std
    grad_mean = sum_to_channels(direct).neg_().div_(n)  # d mean = -sum(d centered), spread as / n
    grad_var = (grad_std / (std * 2)).masked_fill_(std == 0, 0)
    out = torch.sub(weight, mean, out=grad).mul_((2.0 / (n - 1)) * grad_var)  # 2/(n-1) d var (W - mean)
    return out.add_(direct).add_(grad_mean)


def power_of_two_scale(magnitude: torch.Tensor) -> torch.Tensor:
    """s_c = 2^round(log2(mean_c |W_hat|)) from |W_hat| (which may be overwritten afterwards)."""
    return torch.exp2(torch.round(torch.log2(magnitude.mean(dim=channel_dims(magnitude), keepdim=True))))


class LibraBinarize(torch.autograd.Function):
    """(s * sign(W_hat) in ``dtype`` with ``estimator``'s gradient, W_hat without gradient), in one node:
    |W_hat| and the sign share a tensor, and the backward works in its incoming gradient's and one scratch
    tensor. ``space``: as in :class:`bnn.nn.signs.Binarize` (W_hat goes into its ``standard`` tensor, given back
    with the value by the backward)."""

    @staticmethod
    def forward(ctx, weight, estimator, dtype, space):
        mean, std, standard = standardize(weight, None if space is None else space.take("standard", weight))
        buffer = sign_buffer(standard, dtype, space)
        magnitude = torch.abs(standard) if buffer is None else torch.abs(standard, out=buffer)
        scale = power_of_two_scale(magnitude)
        value = finish(estimator.binarize(standard, out=magnitude), scale, dtype, space)
        ctx.estimator, ctx.space, ctx.lent = estimator, space, space is not None
        ctx.mark_non_differentiable(standard)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(
            weight, mean, std, standard, scale, value if ctx.lent else None, *estimator.backward_state()
        )
        return value, standard

    @staticmethod
    def backward(ctx, grad, _):
        weight, mean, std, standard, scale, value, *state = ctx.saved_tensors
        owned = ctx.space is not None or grad.dtype != weight.dtype
        scaled = grad.to(weight.dtype).mul_(scale) if owned else grad * scale
        work = torch.empty_like(scaled) if ctx.space is None else ctx.space.take("scratch", weight)
        grad_standard = ctx.estimator.input_grad(standard, scaled, True, *state, scratch=work)
        grad_weight = standardize_backward(weight, mean, std, standard, grad_standard, work)
        if ctx.space is not None:
            ctx.space.give("scratch", work)
        if ctx.lent:  # at the first backward only, as Binarize's
            ctx.lent = False
            ctx.space.give("standard", standard)
            ctx.space.give("value", value)
        return grad_weight, None, None, None
