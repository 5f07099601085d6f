"""The sign of a tensor and the autograd function that binarizes with a surrogate gradient (docs/methods.md §0.1-0.2).

:class:`Binarize` is the one autograd node of a binarized tensor: its forward is the estimator's sign
(times a detached scale, §0.3), its backward the estimator's surrogate derivative. It saves the input
and nothing else (no sub-graph of temporaries), so a binarized tensor costs about two passes over
memory per step.
"""

from __future__ import annotations

import torch

from bnn.nn.workspace import Workspace


def sign(x: torch.Tensor, zero: str = "plus", out: torch.Tensor | None = None) -> torch.Tensor:
    """sign(x) in x's dtype, in ``out`` if given (else a new tensor): ``zero='plus'`` maps 0 (and -0) to +1
    (signP, §0.1), ``zero='zero'`` keeps torch.sign's 0 (sign0). signP is sign(sign(x) + 1/2): three
    vectorised passes, no comparison mask."""
    out = torch.sign(x) if out is None else torch.sign(x, out=out)
    return out.add_(0.5).sign_() if zero == "plus" else out


def sign_buffer(x: torch.Tensor, dtype: torch.dtype | None, space: Workspace | None) -> torch.Tensor | None:
    """Where the sign of x (in x's dtype) goes: the workspace's ``value``, or its ``sign`` when the value is then
    cast to ``dtype``; ``None`` (a new tensor) without a workspace."""
    if space is None:
        return None
    return space.take("sign" if dtype not in (None, x.dtype) else "value", x)


def finish(
    value: torch.Tensor, scale: torch.Tensor | None, dtype: torch.dtype | None, space: Workspace | None
) -> torch.Tensor:
    """``value * scale`` (in place), cast once to ``dtype`` (into the workspace's ``value`` if given, ``value`` then
    given back as its ``sign``)."""
    if scale is not None:
        value.mul_(scale)
    if dtype is None or dtype == value.dtype:
        return value
    if space is None:
        return value.to(dtype)
    cast = space.take("value", value, dtype).copy_(value)
    space.give("sign", value)
    return cast


class Binarize(torch.autograd.Function):
    """``estimator.binarize(x)`` [* scale] forward, ``estimator.input_grad`` of (grad [* scale]) backward.

    ``dtype`` is that of the value (e.g. bfloat16 for a bf16 product): the value is computed in x's dtype
    and cast once, as autocast would cast it. The gradient returned has x's dtype. The estimator's tensors
    that the backward reads (EDE's k, t) are saved at forward time.

    ``space``: the caller's workspace, given only when the value feeds nothing but the caller's product
    (a binary layer's forward). The value is then written into its tensors and given back by the backward (the
    product's backward ran before it), which may overwrite the incoming gradient (the product's own) and use a
    scratch tensor of it.
    """

    @staticmethod
    def forward(ctx, x, scale, estimator, dtype, space):
        value = finish(estimator.binarize(x, out=sign_buffer(x, dtype, space)), scale, dtype, space)
        ctx.estimator, ctx.space, ctx.lent = estimator, space, space is not None
        ctx.save_for_backward(x, scale, value if ctx.lent else None, *estimator.backward_state())
        return value

    @staticmethod
    def backward(ctx, grad):
        x, scale, value, *state = ctx.saved_tensors
        owned = ctx.space is not None or grad.dtype != x.dtype
        grad = grad.to(x.dtype)
        if scale is not None:
            grad, owned = grad.mul_(scale) if owned else grad * scale, True
        if ctx.space is None:
            return ctx.estimator.input_grad(x, grad, owned, *state), None, None, None, None
        scratch = ctx.space.take("scratch", x)
        grad = ctx.estimator.input_grad(x, grad, owned, *state, scratch=scratch)
        ctx.space.give("scratch", scratch)
        if ctx.lent:  # at the first backward only: a retained graph runs it again
            ctx.lent = False
            ctx.space.give("value", value)
        return grad, None, None, None, None
