"""Weight scaling of binary weights (docs/methods.md §0.3).

A scaling says how the latent weight W becomes the binary weight ``scale * sign(w_to_sign)``, ``scale``
detached: :meth:`Scaling.real` is ``w_to_sign`` (with its gradient), :meth:`Scaling.binary` the binary
weight with the estimator's gradient, together with ``w_to_sign`` (detached) for reuse. Most scalings
only choose ``scale``; Libra-PB also standardises W before the sign (:mod:`bnn.nn.libra`).
"""

from __future__ import annotations

import torch

from bnn.nn.estimators import Estimator
from bnn.nn.libra import LibraBinarize, channel_dims
from bnn.nn.workspace import Workspace
from bnn.registry import Registry


class Scaling:
    """Pure ±1 weights: ``w_to_sign`` = W, no scale (BinaryNet, SGDAT, SD-BNN, Iterative Training)."""

    def scale(self, weight: torch.Tensor) -> torch.Tensor | None:
        """The detached per-output-channel scale (``None``: 1)."""
        return None

    def binary(
        self,
        weight: torch.Tensor,
        estimator: Estimator,
        dtype: torch.dtype | None = None,
        space: Workspace | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(scale * sign(w_to_sign) in ``dtype``, with ``estimator``'s gradient; w_to_sign detached). ``space``:
        see :class:`bnn.nn.signs.Binarize`."""
        return estimator(weight, self.scale(weight), dtype, space), weight.detach()


class ChannelMean(Scaling):
    """XNOR / ReActNet: alpha_c = mean |W_c| per output channel, detached (§0.3)."""

    def scale(self, weight):
        return weight.detach().abs().mean(dim=channel_dims(weight), keepdim=True)


class LibraPB(Scaling):
    """IR-Net Libra-PB (§0.3): W_hat = (W - mean_c) / std_c (unbiased std; gradients flow through mean and
    std) and the detached power-of-two scale s_c = 2^round(log2(mean |W_hat_c|))."""

    def binary(self, weight, estimator, dtype=None, space=None):
        return LibraBinarize.apply(weight, estimator, dtype, space)


SCALINGS: Registry[Scaling] = Registry("scaling")
SCALINGS.register("none")(Scaling())
SCALINGS.register("channel_mean")(ChannelMean())
SCALINGS.register("libra_pb")(LibraPB())
