"""SKD-BNN's real-valued shadow branch with the value swap (docs/methods.md §6.2), for any model of the zoo.

The binary path never depends on the real path, so the branch is a second forward pass of the same
model on the same batch, without gradients, after the training forward:

* training forward: hooks record each binary layer's output O_b, the **feature** after each binary
  layer (the output of the first activation module that runs after it: "after BN/shortcut/Hardtanh",
  §6.2), and the **penultimate feature** (the input of the classifier, the last binarizable layer; §6.5);
* shadow forward: every layer with binary weights or activations returns
  ``T = |O_b| * sign(op(a_r, W_hat))`` instead, with its real input a_r and its real weight W_hat
  (``BinaryLayer.last_real_weight``: Libra-PB's standardised weight, no scale). Everything else runs as
  usual: BatchNorm normalises with the real path's own batch statistics, shortcuts take the real-path
  block input, and the real stream starts from the (real) stem's output. BN running statistics are
  left untouched, so the shadow pass changes no model state.

The same hooks record the features of the shadow pass; feature ``l`` of both passes is one pair.
Pairs per model under ``layers: inner``: ResNet-20 (either variant) 18, ResNet-18 CIFAR 16,
VGG-Small 5, ``convnet`` len(channels) - 1, ``mlp`` len(hidden) - 1 (features are 2-D there).
A binary layer with no activation after it (a binary classifier) has no pair; a model in which no binary
layer has one is refused. PReLU counts as an activation (Bi-Real ResNet-18 of the zoo: 16 pairs).
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from bnn.errors import BnnError
from bnn.models.parts import ACTIVATIONS
from bnn.nn import BinaryLayer, binary_layers


def is_binary(layer: BinaryLayer) -> bool:
    return layer.binary_weights or layer.binary_acts


class ShadowBranch:
    """Hooks on ``model`` recording the training forward, and the shadow forward that pairs with it."""

    def __init__(self, model: nn.Module):
        layers = binary_layers(model)
        if not layers:
            raise BnnError(
                "loss.name: skd needs a model with binarizable layers (its classifier is the last one); "
                "use an architecture of bnn.models built from BinaryConv2d/BinaryLinear"
            )
        self.model = model
        self.classifier = layers[-1]
        # the zoo's activations, and PReLU (SD-BNN's Bi-Real ResNet-18, which stands in for SKD's Hardtanh one)
        self.activations = (*(ACTIVATIONS.get(name) for name in ACTIVATIONS.names()), nn.PReLU)
        self.recording = self.shadow = self.pending = False
        self.input: torch.Tensor | None = None
        self.penultimate: torch.Tensor | None = None
        self.features: list[torch.Tensor] = []
        self.binary_out: dict[BinaryLayer, torch.Tensor] = {}
        model.register_forward_pre_hook(self._start)
        self.classifier.register_forward_pre_hook(self._classifier_input)
        for module in model.modules():
            if isinstance(module, BinaryLayer):
                module.register_forward_hook(self._binary_output)
            elif isinstance(module, self.activations):
                module.register_forward_hook(self._activation_output)

    # --- hooks ----------------------------------------------------------------------------------
    def _start(self, model, args) -> None:
        """Each forward of the model: record only in training; the shadow pass keeps the O_b of the last one."""
        self.recording, self.pending, self.features = model.training, False, []
        if not self.shadow:
            self.input, self.penultimate, self.binary_out = args[0], None, {}

    def _classifier_input(self, layer, args) -> None:
        if self.recording and not self.shadow:
            self.penultimate = args[0]

    def _binary_output(self, layer: BinaryLayer, args, out: torch.Tensor) -> None:
        if self.recording and is_binary(layer):
            if not self.shadow:
                self.binary_out[layer] = out.detach()
            self.pending = True

    def _activation_output(self, module, args, out: torch.Tensor) -> None:
        if self.recording and self.pending:
            self.features.append(out)
            self.pending = False

    # --- the shadow forward ---------------------------------------------------------------------
    def swap(self, layer: BinaryLayer, x: torch.Tensor) -> torch.Tensor:
        """Value swap (§6.2): the binary output's magnitudes with the real output's signs. The real weight is the one
        the training forward signed (``BinaryLayer.last_real_weight``), the real output is overwritten in place."""
        weight = layer.last_real_weight if layer.binary_weights else layer.weight
        return layer.op(x, weight).sign_().mul_(self.binary_out[layer].abs())

    @contextmanager
    def _swapped(self):
        """Binary layers swap values; BatchNorm uses batch statistics without updating its running ones
        (``track_running_stats`` off: no in-place write to buffers the backward pass still needs)."""
        layers = list(self.binary_out)
        norms = [m for m in self.model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
        self.shadow = True
        for layer in layers:
            layer.forward = lambda x, layer=layer: self.swap(layer, x)
        for norm in norms:
            norm.track_running_stats = False
        try:
            yield
        finally:
            for layer in layers:
                del layer.forward
            for norm in norms:
                norm.track_running_stats = True
            self.shadow = False

    def pairs(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(binary feature, detached real feature) per binary layer of the last training forward."""
        if self.input is None:
            raise RuntimeError("no training forward recorded: call the model in train mode first")
        binary = self.features
        with torch.no_grad(), self._swapped():
            self.model(self.input)
        real, self.features = self.features, binary
        if len(real) != len(binary):
            raise RuntimeError(f"the shadow pass gave {len(real)} features for the binary pass's {len(binary)}")
        if self.binary_out and not binary:
            raise BnnError(
                "loss.name: skd found no activation (Hardtanh, ReLU, PReLU) after any binary layer of "
                "this model, so there is no feature to distil; use a model of the zoo with one"
            )
        return list(zip(binary, real))
