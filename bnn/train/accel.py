"""Speed options of a stage: ``amp: bf16`` (forward under ``torch.autocast`` in bfloat16; CPU and CUDA, no loss
scaling needed), ``amp: binary_bf16`` (only the products of layers whose weights and activations are both binary
run in bfloat16, where their ±1 operands are exact; everything else stays float32), ``channels_last: true`` (NHWC
weights and inputs for convolutions on tensor cores) and ``compile: true`` (``torch.compile`` of the forward).
The wrapper only runs the forward; parameters, optimizers and checkpoints stay on the plain model. The values are
checked where the spec is parsed (:mod:`bnn.config.spec`)."""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import nn

from bnn.nn import binary_layers

AUTOCAST = {"none": None, "bf16": torch.bfloat16, "binary_bf16": None}  # autocast dtype of the whole forward
BINARY_PRODUCTS = {"binary_bf16": torch.bfloat16}  # product dtype of the binary layers (BinaryLayer.binary_dtype)


class Accelerated(nn.Module):
    """Runs ``model``'s forward with the stage's speed options; logits come back as float32."""

    def __init__(
        self,
        model: nn.Module,
        device: torch.device,
        amp: str = "none",
        channels_last: bool = False,
        compile: bool = False,
    ):
        super().__init__()
        model = model.to(memory_format=torch.channels_last) if channels_last else model
        self.model = torch.compile(model) if compile else model
        self.device_type = device.type
        self.dtype = AUTOCAST[amp]
        self.channels_last = channels_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        autocast = torch.autocast(self.device_type, dtype=self.dtype) if self.dtype else nullcontext()
        with autocast:
            return self.model(x).float()


def accelerate(model: nn.Module, spec, device: torch.device) -> nn.Module:
    """The module the training loop calls (``spec``: the stage's settings): ``model`` itself when no option
    needs a wrapper. Sets the binary layers' product dtype for ``binary_bf16``."""
    for layer in binary_layers(model):
        layer.binary_dtype = BINARY_PRODUCTS.get(spec.amp)
    if AUTOCAST[spec.amp] is None and not spec.channels_last and not spec.compile:
        return model
    return Accelerated(model, device, spec.amp, spec.channels_last, spec.compile)
