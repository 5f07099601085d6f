"""The stage checkpoint: weights plus everything needed to rebuild the model exactly.

A checkpoint holds only tensors and plain containers (loadable with ``weights_only=True``):
``format``, ``run`` (dataset/model/method/seed/stage), ``model`` (arch + options), ``num_classes``,
``in_shape``, ``binary`` (conv type, estimators, scaling), ``layer_states`` ([weights_binary, acts_binary] per
binarizable layer), ``state_dict``, and ``lineage`` (one entry per stage that led here: stage,
epochs, seconds).
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from bnn.errors import BnnError
from bnn.io import load_torch
from bnn.nn import set_layer_states
from bnn.stage_model import build_model

FORMAT = "bnn-checkpoint/1"


def read(path: str | Path, what: str = "checkpoint") -> dict:
    ckpt = load_torch(path, what)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise BnnError(f"{what} {path} is not a bnn checkpoint (format {FORMAT}); give a checkpoint.pt "
                       "written by bnn train")
    return ckpt


def model_signature(ckpt: dict) -> dict:
    return {"model": ckpt["model"], "num_classes": ckpt["num_classes"], "in_shape": list(ckpt["in_shape"])}


def load_weights(model: nn.Module, state_dict: dict, path: str | Path, what: str) -> None:
    """Strict load with a one-line error when the checkpoint was made for another model."""
    result = model.load_state_dict(state_dict, strict=False)
    problems = [f"missing {k}" for k in result.missing_keys] + [f"unexpected {k}" for k in result.unexpected_keys]
    if problems:
        raise BnnError(f"{what} {path} does not fit this model ({problems[0]}, {len(problems)} problems); "
                       "point it at a checkpoint of the same model")


def rebuild(ckpt: dict, path: str | Path, what: str = "checkpoint") -> nn.Module:
    """The model of a checkpoint, with its binarization state and weights."""
    model = build_model(ckpt["model"], ckpt["num_classes"], ckpt["in_shape"], ckpt["binary"])
    set_layer_states(model, ckpt["layer_states"])
    try:
        load_weights(model, ckpt["state_dict"], path, what)
    except RuntimeError as exc:
        raise BnnError(f"{what} {path}: tensor shapes do not fit the model ({str(exc).splitlines()[-1].strip()})") from None
    return model
