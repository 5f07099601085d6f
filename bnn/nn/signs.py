"""The sign of a tensor and the autograd function that binarizes with a surrogate gradient (METHODS.md §0.1-0.2).

:class:`Binarize` is the one autograd node of a binarized tensor: its forward is the estimator's sign
(times a detached scale, §0.3), its backward the estimator's surrogate derivative. It saves the input
and nothing else (no sub-graph of temporaries), so a binarized tensor costs about two passes over
memory per step.
"""

from __future__ import annotations

import torch


def sign(x: torch.Tensor, zero: str = "plus", out: torch.Tensor | None = None) -> torch.Tensor:
    """sign(x) in x's dtype, in ``out`` if given (else a new tensor): ``zero='plus'`` maps 0 (and -0) to +1
    (signP, §0.1), ``zero='zero'`` keeps torch.sign's 0 (sign0). signP is sign(sign(x) + 1/2): three
    vectorised passes, no comparison mask."""
    out = torch.sign(x) if out is None else torch.sign(x, out=out)
    return out.add_(0.5).sign_() if zero == "plus" else out


class Binarize(torch.autograd.Function):
    """``estimator.binarize(x)`` [* scale] forward, ``estimator.input_grad`` of (grad [* scale]) backward.

    ``dtype`` is that of the value (e.g. bfloat16 for a bf16 product): the value is computed in x's dtype
    and cast once, as autocast would cast it. The gradient returned has x's dtype; the estimator may
    overwrite it when it is a temporary of this backward (``owned``). The estimator's tensors that the
    backward reads (EDE's k, t) are saved at forward time.
    """

    @staticmethod
    def forward(ctx, x, scale, estimator, dtype):
        value = estimator.binarize(x)
        if scale is not None:
            value.mul_(scale)
        if dtype is not None and value.dtype != dtype:
            value = value.to(dtype)
        ctx.estimator = estimator
        ctx.save_for_backward(x, scale, *estimator.backward_state())
        return value

    @staticmethod
    def backward(ctx, grad):
        x, scale, *state = ctx.saved_tensors
        owned = grad.dtype != x.dtype
        grad = grad.to(x.dtype)
        if scale is not None:
            grad, owned = grad.mul_(scale) if owned else grad * scale, True
        return ctx.estimator.input_grad(x, grad, owned, *state), None, None, None
