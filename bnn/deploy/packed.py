"""Binary export: a checkpoint as one file whose binary-weight layers are packed one bit per weight.

Format ``bnn-export/1``, a plain-tensor torch file (``torch.load(path, weights_only=True)``):

* ``format``, ``run``, ``model`` (arch + options), ``num_classes``, ``in_shape``, ``binary``
  (estimators, scaling), ``layer_states``: as in the checkpoint (:mod:`bnn.train.checkpoint`);
* ``packed``: per binary-weight layer (module name), ``bits`` (uint8, ``ceil(n / 8)`` bytes),
  ``scale`` (float32, one per output channel) and ``shape`` (list of ints). Weight ``i`` of the
  row-major flattened weight is bit ``7 - i % 8`` of byte ``i // 8`` (``numpy.packbits``, big bit
  order, zero padded); 1 stands for ``+scale_c``, 0 for ``-scale_c``;
* ``tensors``: every other ``state_dict`` entry (real parameters and buffers).

``load_exported`` rebuilds the model for inference with each binary layer's effective weight equal
to the exported ±scale bit for bit (channel_mean scaling over a fitted latent weight), so its logits
equal the original model's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from bnn.config.spec import BinarySpec
from bnn.errors import BnnError
from bnn.io import load_torch, save_torch
from bnn.nn import BinaryLayer, SDBinaryConv2d, binary_layers
from bnn.nn.binarized import split_weight
from bnn.train import checkpoint

FORMAT = "bnn-export/1"
META = ("run", "model", "num_classes", "in_shape", "binary", "layer_states")


def pack(positive: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.packbits(positive.flatten().numpy(), bitorder="big"))


def unpack(bits: torch.Tensor, shape: list[int]) -> torch.Tensor:
    count = int(np.prod(shape))
    return torch.from_numpy(np.unpackbits(bits.numpy(), count=count, bitorder="big").astype(bool)).view(shape)


def export(checkpoint_path: str | Path, out: str | Path) -> dict:
    """Write the export of ``checkpoint_path`` to ``out``; returns its layer count and sizes in bytes."""
    ckpt = checkpoint.read(checkpoint_path)
    model = checkpoint.rebuild(ckpt, checkpoint_path)
    names = {module: name for name, module in model.named_modules()}
    packed = {}
    for layer in binary_layers(model):
        if not layer.binary_weights:
            continue
        split = split_weight(layer)
        if split is None:
            raise BnnError(
                f"{checkpoint_path}: layer {names[layer]} has binary weights that are not ±scale per "
                "output channel; export a checkpoint that passes bnn evaluate's binary check"
            )
        positive, scale = split
        packed[names[layer]] = {"bits": pack(positive), "scale": scale.to(torch.float32), "shape": list(positive.shape)}
    weights = {f"{name}.weight" for name in packed}
    payload = {
        "format": FORMAT,
        **{key: ckpt[key] for key in META},
        "packed": packed,
        "tensors": {k: v for k, v in ckpt["state_dict"].items() if k not in weights},
    }
    rebuild(payload, checkpoint_path, "this layer type cannot be exported")  # write only what loads back exactly
    save_torch(out, payload)
    return {
        "layers": len(packed),
        "packed_bytes": sum(p["bits"].numel() + 4 * p["scale"].numel() for p in packed.values()),
        "float_bytes": sum(4 * int(np.prod(p["shape"])) for p in packed.values()),
        "file_bytes": Path(out).stat().st_size,
    }


def load_exported(path: str | Path) -> nn.Module:
    """The model of an export written by ``bnn export``, ready for inference (call ``.eval()``)."""
    payload = load_torch(path, "export")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise BnnError(f"export {path} is not a bnn export (format {FORMAT}); give a file written by bnn export")
    return rebuild(payload, path, "load it with the bnn version that exported it")


def signed(positive: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """±scale_c: +scale_c where ``positive``, else -scale_c."""
    return torch.where(positive, 1.0, -1.0) * scale.view(-1, *[1] * (positive.dim() - 1))


def rebuild(payload: dict, path: str | Path, fix: str) -> nn.Module:
    """The model of an export payload; ``fix`` ends the error raised when a layer does not come back exactly."""
    unpacked = {name: (unpack(p["bits"], p["shape"]), p["scale"]) for name, p in payload["packed"].items()}
    state = dict(payload["tensors"])
    for name, (positive, scale) in unpacked.items():
        state[f"{name}.weight"] = signed(positive, scale)
    model = checkpoint.rebuild({**payload, "state_dict": state}, path, "export")
    modules = dict(model.named_modules())
    for name, (positive, scale) in unpacked.items():
        if not fit_latent_weight(modules[name], positive, scale, payload["binary"]):
            raise BnnError(
                f"{path}: layer {name} does not come back as exactly ±scale per output channel "
                f"with channel_mean scaling; {fix}"
            )
    return model


def exact_magnitudes(total: torch.Tensor, n: int) -> torch.Tensor:
    """Per row, n positive float32 values whose sum is exactly ``total`` in any summation order.

    They are multiples of q = ulp(total) and every partial sum stays below 2^24·q, so each addition
    is exact; each value is total/n rounded to a multiple of q.
    """
    _, exponent = torch.frexp(total)
    quantum = torch.ldexp(torch.ones_like(total), exponent - 24)
    count = (total / quantum).to(torch.int32)  # < 2^24
    counts = (count // n)[:, None] + (torch.arange(n)[None, :] < (count % n)[:, None])
    return counts.to(torch.float32) * quantum[:, None]


@torch.no_grad()
def fit_latent_weight(layer: BinaryLayer, positive: torch.Tensor, scale: torch.Tensor, binary: dict) -> bool:
    """Set ``layer`` so that ``effective_weight()`` is ±scale_c; True when it is exact.

    A latent weight of exactly ±scale_c is tried first, under the layer's own binarization (exact for
    scale-free ±1 layers, SD-BNN's convs included: their WSD shift is below 0.01, docs/methods.md §3.2).
    Otherwise the layer is switched to channel_mean scaling (docs/methods.md §0.3) and fitted. There a
    latent weight of ±scale_c is not enough: the float32 mean of n equal values is often one ulp
    off scale_c. Instead each channel's latent magnitudes sum exactly to a float32 total S_c
    (:func:`exact_magnitudes`), so the computed mean is a monotone function of S_c alone, and S_c is
    bisected over its float32 bit patterns to the smallest total whose mean reaches scale_c.
    """
    target = signed(positive, scale)
    layer.weight.copy_(target)
    if torch.equal(layer.effective_weight(), target):
        return True
    if isinstance(layer, SDBinaryConv2d):
        return False
    layer.configure(**{**BinarySpec.parse(binary, "binary").layer_options(), "scaling": "channel_mean"})
    sign = torch.where(positive, 1.0, -1.0)
    n = sign[0].numel()

    def mean_for(pattern: torch.Tensor) -> torch.Tensor:
        layer.weight.copy_(sign * exact_magnitudes(pattern.view(torch.float32), n).view_as(sign))
        return layer.effective_weight().flatten(1)[:, 0].abs()

    low, high = (scale * n * (1 - 2**-16)).view(torch.int32), (scale * n * (1 + 2**-16)).view(torch.int32)
    while bool((low < high).any()):
        middle = low + (high - low) // 2
        short = mean_for(middle) < scale
        low, high = torch.where(short, middle + 1, low), torch.where(short, high, middle)
    mean_for(low)
    return torch.equal(layer.effective_weight(), target)
