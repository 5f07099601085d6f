"""Speed options of a stage (issue 5, GPU path): ``amp: bf16`` (forward under ``torch.autocast`` in
bfloat16; works on CPU and CUDA, no loss scaling needed), ``amp: binary_bf16`` (only the products of
layers whose weights and activations are both binary run in bfloat16, where their ±1 operands are
exact; everything else stays float32), ``channels_last: true`` (NHWC weights and inputs for
convolutions on tensor cores) and ``compile: true`` (``torch.compile`` of the forward).
The wrapper only runs the forward; parameters, optimizers and checkpoints stay on the plain model."""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import nn

from bnn.errors import BnnError
from bnn.nn import binary_layers

AMP = {"none": None, "bf16": torch.bfloat16, "binary_bf16": None}  # autocast dtype of the whole forward
BINARY_AMP = {"binary_bf16": torch.bfloat16}  # product dtype of the binary layers (bnn.nn.BinaryLayer.binary_dtype)


def check(spec: dict, key: str = "spec") -> None:
    """One-line errors for bad speed options (also run by the plan at config time)."""
    if spec.get("amp", "none") not in AMP:
        raise BnnError(f"{key}.amp: {spec['amp']!r} must be one of {', '.join(AMP)}")
    for option in ("channels_last", "compile"):
        if not isinstance(spec.get(option, False), bool):
            raise BnnError(f"{key}.{option}: {spec[option]!r} must be true or false")


class Accelerated(nn.Module):
    """Runs ``model``'s forward with the stage's speed options; logits come back as float32."""

    def __init__(self, model: nn.Module, device: torch.device, amp: str = "none", channels_last: bool = False,
                 compile: bool = False):
        super().__init__()
        model = model.to(memory_format=torch.channels_last) if channels_last else model
        self.model = torch.compile(model) if compile else model
        self.device_type = device.type
        self.dtype = AMP[amp]
        self.channels_last = channels_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        autocast = torch.autocast(self.device_type, dtype=self.dtype) if self.dtype else nullcontext()
        with autocast:
            return self.model(x).float()


def accelerate(model: nn.Module, spec: dict, device: torch.device) -> nn.Module:
    """The module the training loop calls: ``model`` itself when no speed option is set."""
    check(spec)
    for layer in binary_layers(model):
        layer.binary_dtype = BINARY_AMP.get(spec.get("amp", "none"))
    options = {k: spec[k] for k in ("amp", "channels_last", "compile") if k in spec}
    if not any(v not in ("none", "binary_bf16", False) for v in options.values()):
        return model
    return Accelerated(model, device, **options)
