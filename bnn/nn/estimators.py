"""Sign functions and their straight-through gradient estimators (METHODS.md §0.1, §0.2).

The forward pass is a sign (deterministic, or stochastic for ``stochastic`` in training); an
estimator chooses the backward surrogate ``F``. Each estimator computes
``sign(x) + (F(x) - stopgrad(F(x)))``: the value is exactly the sign, and autograd differentiates
the surrogate.

A config names an estimator either by a string (``ede``) or by a mapping with its options
(``{name: ede, t_min: 0.1}``); :func:`build_estimator` accepts both.
"""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping

import torch

from bnn.errors import BnnError
from bnn.registry import Registry

ESTIMATORS: Registry[type["Estimator"]] = Registry("estimator")
SIGN_ZERO = ("plus", "zero")
EstimatorSpec = str | Mapping


def sign(x: torch.Tensor, zero: str = "plus") -> torch.Tensor:
    """sign(x) in {-1, +1}; ``zero='plus'`` maps 0 to +1 (signP, §0.1), ``zero='zero'`` keeps torch.sign's 0 (sign0)."""
    if zero == "plus":
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))
    return torch.sign(x)


def positive(name: str, value: object) -> float:
    """``value`` as a float > 0, else a ValueError naming the option."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name}: {value!r} must be a number > 0")
    return float(value)


class Estimator(ABC):
    """Base: forward ``binarize(x)``, backward of the surrogate ``surrogate(x)``."""

    def __init__(self, zero: str = "plus"):
        self.zero = zero

    @abstractmethod
    def surrogate(self, x: torch.Tensor) -> torch.Tensor:
        """The function whose derivative is the backward pass."""

    def binarize(self, x: torch.Tensor, training: bool) -> torch.Tensor:
        """The forward value: the deterministic sign with this estimator's sign(0) convention."""
        return sign(x, self.zero)

    def set_progress(self, epoch: int, epochs: int) -> None:
        """Called at the start of each epoch (0-based ``epoch`` of ``epochs``); no-op unless scheduled."""

    def __call__(self, x: torch.Tensor, training: bool = False) -> torch.Tensor:
        # sign(x) + (F - stopgrad(F)): the value is exactly the sign (F - F is exactly 0, unlike
        # stopgrad(sign - F) + F, which rounds when sign and x differ in sign), the gradient is F'
        f = self.surrogate(x)
        return self.binarize(x, training) + (f - f.detach())


@ESTIMATORS.register("ste")
class IdentitySTE(Estimator):
    """Identity STE (§0.2-1): g_in = g_out."""

    def surrogate(self, x: torch.Tensor) -> torch.Tensor:
        return x


@ESTIMATORS.register("clipped_ste")
class ClippedSTE(Estimator):
    """Clipped / Hardtanh STE (§0.2-2): g_in = g_out * 1[|x| <= 1]."""

    def surrogate(self, x: torch.Tensor) -> torch.Tensor:
        # torch.clamp's gradient is 0 at exactly +-1; the formula includes the boundary.
        return torch.where(x.abs() <= 1.0, x, x.detach())


@ESTIMATORS.register("approx_sign")
class ApproxSign(Estimator):
    """ApproxSign of Bi-Real / ReActNet (§0.2-3): g_in = g_out * (2 - 2|x|) * 1[|x| < 1].

    The piecewise surrogate (x^2 + 2x on [-1, 0), -x^2 + 2x on [0, 1), ±1 outside) equals
    c * (2 - |c|) with c = clamp(x, -1, 1).
    """

    def surrogate(self, x: torch.Tensor) -> torch.Tensor:
        c = x.clamp(-1.0, 1.0)
        return c * (2.0 - c.abs())


@ESTIMATORS.register("ede")
class ErrorDecay(Estimator):
    """IR-Net's Error Decay Estimator (§0.2-4): g_in = g_out * k * t * (1 - tanh^2(t * x)).

    The surrogate is k * tanh(t * x). Before the first :meth:`set_progress` call k = 10, t = 0.1;
    at epoch e of E, t = 10^(log10 t_min + (log10 t_max - log10 t_min) * e / E) and k = max(1, 1/t).
    IR-Net's ResNet code uses t_min = 1e-3 (the default), its VGG-Small code 0.1; t_max = 10.
    """

    def __init__(self, zero: str = "plus", t_min: float = 1e-3, t_max: float = 10.0):
        super().__init__(zero)
        self.t_min, self.t_max = positive("t_min", t_min), positive("t_max", t_max)
        if self.t_min > self.t_max:
            raise ValueError(f"t_min: {t_min!r} is larger than t_max {t_max!r}")
        self.k, self.t = 10.0, 0.1

    def set_progress(self, epoch: int, epochs: int) -> None:
        lo, hi = math.log10(self.t_min), math.log10(self.t_max)
        self.t = 10.0 ** (lo + (hi - lo) * epoch / epochs)
        self.k = max(1.0, 1.0 / self.t)

    def surrogate(self, x: torch.Tensor) -> torch.Tensor:
        return self.k * torch.tanh(self.t * x)


@ESTIMATORS.register("stochastic")
class StochasticSign(ClippedSTE):
    """Stochastic sign (BinaryConnect): in training +1 with probability hard_sigmoid(x) = clip((x+1)/2, 0, 1),
    else -1; in eval the deterministic sign (§0.1 convention).

    Backward: clipped STE, 1[|x| <= 1] (§0.2-2). That is the exact derivative of the expected output
    E[out] = 2 * hard_sigmoid(x) - 1 = clip(x, -1, 1). Draws use torch's global generator, so
    ``torch.manual_seed`` makes them reproducible.
    """

    def binarize(self, x: torch.Tensor, training: bool) -> torch.Tensor:
        if not training:
            return sign(x, self.zero)
        p_plus = ((x + 1.0) / 2.0).clamp(0.0, 1.0)
        return torch.where(torch.rand_like(x) < p_plus, torch.ones_like(x), -torch.ones_like(x))


@ESTIMATORS.register("hysteresis")
class Hysteresis(IdentitySTE):
    """SGDT's threshold binarization (§2.3) as a sign: where |x| <= threshold the previous binary value is
    kept (a fixed hysteresis band around zero), elsewhere sign(x); identity STE backward.

    The previous value is this estimator's last training output. It applies when the input has the same
    shape (weights; activations of an equal batch shape); otherwise, and before any training call, the
    plain sign is used. It is not saved in checkpoints (it only matters inside the band, |x| <= threshold).
    """

    def __init__(self, zero: str = "plus", threshold: float = 1e-8):
        super().__init__(zero)
        self.threshold = positive("threshold", threshold)
        self.previous: torch.Tensor | None = None

    def binarize(self, x: torch.Tensor, training: bool) -> torch.Tensor:
        new = sign(x, self.zero)
        if self.previous is not None and self.previous.shape == x.shape and self.previous.device == x.device:
            new = torch.where(x.abs() > self.threshold, new, self.previous)
        if training:
            self.previous = new.detach()
        return new


def build_estimator(spec: EstimatorSpec, zero: str = "plus", key: str | None = None) -> Estimator:
    """An estimator from a name or a mapping ``{name: NAME, option: value, ...}``; ``key`` is the config key in errors."""
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
        raise BnnError(f"{where}.{unknown[0]}: not an option of estimator {name!r}; "
                       f"its options are: {', '.join(sorted(accepted)) or 'none'}")
    try:
        return cls(zero=zero, **options)
    except ValueError as exc:
        raise BnnError(f"{where}.{exc}") from None
