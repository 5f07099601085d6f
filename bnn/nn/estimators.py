"""Straight-through gradient estimators as modules (docs/methods.md §0.1, §0.2).

The forward pass is a sign (deterministic, or stochastic for ``stochastic`` in training); an estimator
chooses the backward surrogate ``F`` and gives its derivative directly (:class:`bnn.nn.signs.Binarize`):
the value is exactly the sign, the gradient is ``g * F'(x)`` computed with the same floating-point
operations, in the same order, as autograd did on the former ``sign(x) + (F(x) - stopgrad F(x))``.

Estimators are submodules of the binary layers; their state (EDE's ``k``, ``t``; the hysteresis
estimator's previous binary value) lives in buffers, so it is in ``state_dict``. That state is optional
when loading: a checkpoint written with another estimator (or before the state was saved) leaves it as
it is. EDE's per-epoch schedule comes through the loop protocol (:class:`bnn.train.callbacks.Callbacks`).

A config names an estimator either by a string (``ede``) or by a mapping with its options
(``{name: ede, t_min: 0.1}``); :func:`build_estimator` accepts both.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping

import torch
from torch import nn

from bnn.errors import BnnError
from bnn.nn.signs import Binarize, sign
from bnn.nn.workspace import Workspace
from bnn.registry import Registry
from bnn.train.callbacks import Callbacks

ESTIMATORS: Registry[type[Estimator]] = Registry("estimator")
SIGN_ZERO = ("plus", "zero")
EstimatorSpec = str | Mapping


def positive(name: str, value: object) -> float:
    """``value`` as a float > 0, else a ValueError naming the option."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name}: {value!r} must be a number > 0")
    return float(value)


class Estimator(nn.Module, Callbacks):
    """Base: forward ``binarize(x)`` (times a detached ``scale``), backward ``input_grad`` (§0.2).

    ``deploy_refusal``: why a deployed graph cannot reproduce this estimator's eval output on activations
    ('' when it can: a stateless sign, bnn.deploy.mapping)."""

    deploy_refusal = ""

    def __init__(self, zero: str = "plus"):
        super().__init__()
        self.zero = zero

    def forward(
        self,
        x: torch.Tensor,
        scale: torch.Tensor | None = None,
        dtype: torch.dtype | None = None,
        space: Workspace | None = None,
    ) -> torch.Tensor:
        """sign(x) [* scale] in ``dtype`` (default x's), with this estimator's surrogate gradient; ``space``: see
        :class:`bnn.nn.signs.Binarize`."""
        return Binarize.apply(x, scale, self, dtype, space)

    def binarize(self, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """The forward value: the deterministic sign with this estimator's sign(0) convention, in ``out``
        (x's shape and dtype) if given, else in a new tensor."""
        return sign(x, self.zero, out)

    def backward_state(self) -> tuple[torch.Tensor, ...]:
        """Tensors :meth:`input_grad` reads besides x and the gradient, saved when the forward runs."""
        return ()

    def input_grad(
        self,
        x: torch.Tensor,
        grad: torch.Tensor,
        owned: bool,
        *state: torch.Tensor,
        scratch: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """dL/dx = dL/d(sign) * F'(x); ``grad`` may be overwritten when ``owned``, ``scratch`` (x's shape and
        dtype) may be used for temporaries (it is lent again afterwards: never returned)."""
        raise NotImplementedError

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        """Load this estimator's buffers found under ``prefix``; missing ones stay, other keys are ignored."""
        for name in self._buffers:
            if prefix + name in state_dict:
                self._load_buffer(name, state_dict[prefix + name])

    def _load_buffer(self, name: str, value: torch.Tensor) -> None:
        with torch.no_grad():
            self._buffers[name].copy_(value)

    def extra_repr(self) -> str:
        return f"zero={self.zero}"


@ESTIMATORS.register("ste")
class IdentitySTE(Estimator):
    """Identity STE (§0.2-1): g_in = g_out."""

    def input_grad(self, x, grad, owned, *state, scratch=None):
        return grad


def just_above_one(dtype: torch.dtype) -> float:
    """The smallest value of ``dtype`` above 1, so that ``x < it`` is ``x <= 1`` in that dtype."""
    return 1.0 + torch.finfo(dtype).eps


@ESTIMATORS.register("clipped_ste")
class ClippedSTE(Estimator):
    """Clipped / Hardtanh STE (§0.2-2): g_in = g_out * 1[|x| <= 1], the boundary included."""

    def input_grad(self, x, grad, owned, *state, scratch=None):
        # hardtanh_backward passes grad where lo < x < hi (else 0): one pass, no mask tensor
        bound = just_above_one(x.dtype)
        if owned:
            return torch.ops.aten.hardtanh_backward.grad_input(grad, x, -bound, bound, grad_input=grad)
        return torch.ops.aten.hardtanh_backward(grad, x, -bound, bound)


@ESTIMATORS.register("approx_sign")
class ApproxSign(Estimator):
    """ApproxSign of Bi-Real / ReActNet (§0.2-3): g_in = g_out * (2 - 2|x|) * 1[|x| < 1].

    The piecewise surrogate (x^2 + 2x on [-1, 0), -x^2 + 2x on [0, 1), ±1 outside) equals c * (2 - |c|)
    with c = clamp(x, -1, 1); autograd's derivative of that is g * (2 - |c|) - g * |c| (0 outside, where |c| = 1).
    """

    def input_grad(self, x, grad, owned, *state, scratch=None):
        magnitude = x.abs().clamp_max_(1.0)
        out = torch.rsub(magnitude, 2.0).mul_(grad)
        return out.sub_(magnitude.mul_(grad))


@ESTIMATORS.register("ede")
class ErrorDecay(Estimator):
    """IR-Net's Error Decay Estimator (§0.2-4): g_in = g_out * k * t * (1 - tanh^2(t * x)).

    The surrogate is k * tanh(t * x). ``k`` and ``t`` are float32 buffers, 10 and 0.1 until the first
    :meth:`on_epoch_start`; at epoch e of E, t = 10^(log10 t_min + (log10 t_max - log10 t_min) * e / E) and
    k = max(1, 1/t). IR-Net's ResNet code uses t_min = 1e-3 (the default), its VGG-Small code 0.1; t_max = 10.
    """

    def __init__(self, zero: str = "plus", t_min: float = 1e-3, t_max: float = 10.0):
        super().__init__(zero)
        self.t_min, self.t_max = positive("t_min", t_min), positive("t_max", t_max)
        if self.t_min > self.t_max:
            raise ValueError(f"t_min: {t_min!r} is larger than t_max {t_max!r}")
        self.register_buffer("k", torch.tensor(10.0))
        self.register_buffer("t", torch.tensor(0.1))

    def on_epoch_start(self, epoch: int, epochs: int) -> None:
        lo, hi = math.log10(self.t_min), math.log10(self.t_max)
        t = 10.0 ** (lo + (hi - lo) * epoch / epochs)
        with torch.no_grad():
            self.t.fill_(t)
            self.k.fill_(max(1.0, 1.0 / t))

    def backward_state(self):
        return self.k, self.t

    def input_grad(self, x, grad, owned, *state, scratch=None):
        k, t = state
        # autograd's order on k * tanh(t * x): ((g * k) -> tanh_backward(., tanh(t x))) * t
        tanh = (torch.mul(x, t) if scratch is None else torch.mul(x, t, out=scratch)).tanh_()
        scaled = grad.mul_(k) if owned else torch.mul(grad, k)
        return torch.ops.aten.tanh_backward.grad_input(scaled, tanh, grad_input=scaled).mul_(t)

    def extra_repr(self) -> str:
        return f"zero={self.zero}, t_min={self.t_min}, t_max={self.t_max}"


@ESTIMATORS.register("stochastic")
class StochasticSign(ClippedSTE):
    """Stochastic sign (BinaryConnect): in training +1 with probability hard_sigmoid(x) = clip((x+1)/2, 0, 1),
    else -1; in eval the deterministic sign (§0.1 convention).

    Backward: clipped STE, 1[|x| <= 1] (§0.2-2). That is the exact derivative of the expected output
    E[out] = 2 * hard_sigmoid(x) - 1 = clip(x, -1, 1). Draws use torch's global generator (one
    ``rand_like(x)`` per training call), so ``torch.manual_seed`` makes them reproducible.
    """

    def binarize(self, x, out=None):
        if not self.training:
            return sign(x, self.zero, out)
        p_plus = torch.add(x, 1.0).div_(2.0).clamp_(0.0, 1.0)
        draws = torch.rand_like(x)
        return draws.lt_(p_plus).mul_(2.0).sub_(1.0)  # 1.0 where draw < p_plus, else 0.0 -> ±1


@ESTIMATORS.register("hysteresis")
class Hysteresis(IdentitySTE):
    """SGDT's threshold binarization (§2.3) as a sign: where |x| <= threshold the previous binary value is
    kept (a fixed hysteresis band around zero), elsewhere sign(x); identity STE backward.

    The previous value (buffer ``previous``, empty until the first training call) is this estimator's last
    training output. It applies when the input has the same shape (weights; activations of an equal batch
    shape); otherwise the plain sign is used. It is saved in checkpoints with its shape.
    """

    deploy_refusal = (
        "whose eval output depends on the signs of the last training batch (docs/methods.md §2.3), a state no "
        "exported graph holds; train with act_estimator ste"
    )

    def __init__(self, zero: str = "plus", threshold: float = 1e-8):
        super().__init__(zero)
        self.threshold = positive("threshold", threshold)
        self.register_buffer("previous", torch.empty(0))

    def binarize(self, x, out=None):
        new = sign(x, self.zero, out)
        if self.previous.shape == x.shape and self.previous.device == x.device:
            new = torch.where(x.abs() > self.threshold, new, self.previous)
        if self.training:
            self.previous = new.detach().clone()
        return new

    def _load_buffer(self, name, value):
        self.previous = value.detach().clone().to(self.previous.device)

    def extra_repr(self) -> str:
        return f"zero={self.zero}, threshold={self.threshold}"


def build_estimator(spec: EstimatorSpec, zero: str = "plus", key: str | None = None) -> Estimator:
    """An estimator from a name or a mapping ``{name: NAME, option: value, ...}``; ``key``: the config key in errors."""
    where = key or "estimator"
    if isinstance(spec, str):
        name, options = spec, {}
    elif isinstance(spec, Mapping) and "name" in spec:
        name, options = spec["name"], {k: v for k, v in spec.items() if k != "name"}
    else:
        raise BnnError(f"{where}: {spec!r} is not an estimator name or a mapping {{name: ..., option: value}}")
    cls = ESTIMATORS.get(name, key)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "zero"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise BnnError(
            f"{where}.{unknown[0]}: not an option of estimator {name!r}; "
            f"its options are: {', '.join(sorted(accepted)) or 'none'}"
        )
    try:
        return cls(zero=zero, **options)
    except ValueError as exc:
        raise BnnError(f"{where}.{exc}") from None
