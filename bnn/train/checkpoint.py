"""The stage checkpoint: weights plus everything needed to rebuild the model exactly.

A checkpoint holds only tensors and plain containers (loadable with ``weights_only=True``):
``format``, ``run`` (dataset/model/method/seed/stage), ``model`` (arch + options), ``num_classes``,
``in_shape``, ``binary`` (conv type, estimators, scaling), ``layer_states`` ([weights_binary, acts_binary] per
binarizable layer), ``state_dict`` (parameters and buffers, the estimators' state included), ``loss_state`` (the
loss terms' buffers, e.g. SKD-BNN's soft-label bank) and ``lineage`` (one entry per stage that led here: stage,
method, epochs, seconds).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from bnn.config.spec import BinarySpec, ModelSpec, StageSpec
from bnn.errors import BnnError
from bnn.io import load_torch, save_torch
from bnn.nn import layer_states, set_layer_states
from bnn.train.model import build_model

FORMAT = "bnn-checkpoint/1"
ESTIMATOR_MODULES = ("weight_estimator", "act_estimator", "estimator")  # module names of the estimators


def read(path: str | Path, what: str = "checkpoint") -> dict:
    ckpt = load_torch(path, what)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise BnnError(
            f"{what} {path} is not a bnn checkpoint (format {FORMAT}); give a checkpoint.pt written by bnn train"
        )
    return ckpt


def write(
    path: str | Path, spec: StageSpec, meta: dict, model: nn.Module, loss: nn.Module, lineage: list[dict]
) -> None:
    save_torch(
        path,
        {
            "format": FORMAT,
            "run": {
                "dataset": spec.run.dataset,
                "model": spec.run.model,
                "method": spec.run.method,
                "seed": spec.run.seed,
                "stage": spec.run.stage,
            },
            "model": spec.model.to_dict(),
            "num_classes": meta["num_classes"],
            "in_shape": list(meta["shape"]),
            "binary": spec.binary.to_dict(),
            "layer_states": layer_states(model),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "loss_state": {k: v.detach().cpu() for k, v in loss.state_dict().items()},
            "lineage": lineage,
        },
    )


def model_signature(ckpt: dict) -> dict:
    return {"model": ckpt["model"], "num_classes": ckpt["num_classes"], "in_shape": list(ckpt["in_shape"])}


def check_data(ckpt: dict, meta: dict, path: str | Path, what: str) -> None:
    """The one check that a checkpoint was trained on data of this shape and class count."""
    if [ckpt["num_classes"], list(ckpt["in_shape"])] != [meta["num_classes"], list(meta["shape"])]:
        raise BnnError(
            f"{what}: {path} was trained for {ckpt['num_classes']} classes of shape {ckpt['in_shape']}, "
            f"the data has {meta['num_classes']} of {meta['shape']}; use a checkpoint of the same dataset"
        )


def is_estimator_state(key: str) -> bool:
    """Whether a state_dict key is an estimator's buffer (EDE's k, t; the hysteresis band's previous sign)."""
    parts = key.split(".")
    return len(parts) >= 2 and parts[-2] in ESTIMATOR_MODULES


def load_weights(
    model: nn.Module, state_dict: dict, path: str | Path, what: str, inherit_estimators: bool = True
) -> None:
    """Strict load with a one-line error when the checkpoint was made for another model. With
    ``inherit_estimators=False`` (a stage's ``init``) the estimators keep their own state: it belongs to the
    stage that trained with them (its schedule, its band), and the two stages may use different estimators."""
    if not inherit_estimators:
        state_dict = {k: v for k, v in state_dict.items() if not is_estimator_state(k)}
    try:
        result = model.load_state_dict(state_dict, strict=False)
    except RuntimeError as exc:
        raise BnnError(
            f"{what} {path}: tensor shapes do not fit the model ({str(exc).splitlines()[-1].strip()})"
        ) from None
    missing = [k for k in result.missing_keys if inherit_estimators or not is_estimator_state(k)]
    problems = [f"missing {k}" for k in missing] + [f"unexpected {k}" for k in result.unexpected_keys]
    if problems:
        raise BnnError(
            f"{what} {path} does not fit this model ({problems[0]}, {len(problems)} problems); "
            "point it at a checkpoint of the same model"
        )


def rebuild(ckpt: dict, path: str | Path, what: str = "checkpoint") -> nn.Module:
    """The model of a checkpoint, with its binarization state and weights."""
    model = build_model(
        ModelSpec.parse(ckpt["model"], f"{what} model"),
        ckpt["num_classes"],
        ckpt["in_shape"],
        BinarySpec.parse(ckpt["binary"], f"{what} binary"),
    )
    set_layer_states(model, ckpt["layer_states"])
    load_weights(model, ckpt["state_dict"], path, what)
    return model


def load_frozen(path: str | Path, device: torch.device, meta: dict, what: str) -> nn.Module:
    """A checkpoint's model for inference only (a KD teacher): eval mode, no gradients, on ``device``."""
    ckpt = read(path, what)
    check_data(ckpt, meta, path, what)
    model = rebuild(ckpt, path, what).to(device).eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return model
