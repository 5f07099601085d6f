"""The checks a stage's settings must pass before any job starts, shared by the plan and ``bnn train``.

Everything a stage builds is built on the meta device (no data, no compute): the model with its binary
options, the loss, the optimizers with their groups, the schedule against the model's layer count; and
the settings that must agree with each other (augmentation vs a streamed dataset, distributed processes vs
batch size and device, a binary optimizer vs the estimator's gradient). Errors are one line naming the key.
"""

from __future__ import annotations

import torch
from torch import nn

from bnn.config.spec import BinarySpec, ModelSpec, Settings, StageSpec
from bnn.data.augment import Augment
from bnn.data.datasets import DatasetInfo
from bnn.data.make import check_stream_settings
from bnn.errors import BnnError
from bnn.losses import build_loss
from bnn.nn import BinaryLinear, binary_layers
from bnn.optim import Optimizers, is_binary_optimizer
from bnn.train.model import apply_binary, build_model


def meta_model(model: ModelSpec, info: DatasetInfo, binary: BinarySpec, key: str, model_key: str) -> nn.Module:
    """The stage's model on the meta device; a bad model option is reported under ``model_key``, a bad binary
    option under ``key``."""
    with torch.device("meta"):
        net = build_model(model, info.num_classes, info.shape, BinarySpec(), model_key)
        try:
            return apply_binary(net, binary, f"{model_key} (arch {model.arch!r})")
        except BnnError as error:
            raise BnnError(f"{key}.{error}") from None


def binarizable_count(model: ModelSpec, info: DatasetInfo, model_key: str) -> int:
    return len(binary_layers(meta_model(model, info, BinarySpec(), model_key, model_key)))


def check_distributed(settings: Settings, key: str) -> None:
    """``distributed.nproc`` fits the (global) batch size and the device."""
    nproc, where = settings.distributed.nproc, f"{key}.distributed"
    if settings.batch_size is not None and settings.batch_size % nproc:
        raise BnnError(
            f"{where}.nproc: {nproc} processes cannot split batch_size {settings.batch_size} evenly; use a "
            "batch_size divisible by nproc (it is the global batch)"
        )
    if nproc > 1 and settings.device.startswith("cuda:"):
        raise BnnError(
            f"{where}.nproc: a multi-process stage takes one locked GPU per process; write device: cuda "
            f"or auto instead of {settings.device}"
        )
    if settings.distributed.backend == "nccl" and settings.device == "cpu":
        raise BnnError(f"{where}.backend: nccl needs CUDA devices; use gloo (or auto) with device: cpu")


def surrogate_gradient_is_identity(binary: BinarySpec) -> bool:
    """Whether a ±1 weight's gradient passes the estimator and scaling unchanged (docs/methods.md §2 assumes the
    identity STE): probed on a binary layer with these options, weights ±1, in training mode. The probe draws
    from a forked generator (its init, a stochastic sign), so checking a stage never changes its random numbers."""
    with torch.random.fork_rng(devices=[]):
        probe = BinaryLinear(3, 2, bias=False)
        probe.configure(**binary.layer_options())
        probe.set_binary(True, False)
        with torch.no_grad():
            probe.weight.copy_(torch.tensor([[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0]]))
        upstream = torch.tensor([[0.5, -2.0, 1.5], [3.0, 0.25, -1.0]])
        (probe.effective_weight() * upstream).sum().backward()
        return torch.equal(probe.weight.grad, upstream)


def check_binary_optimizer(settings: Settings, key: str) -> None:
    """A binary optimizer (Bop, SGDAT, ...) reads dL/dW_b through the weight estimator; refuse an estimator or
    scaling that scales or zeroes it unless the optimizer says ``allow_surrogate_gradient: true``."""
    optimizer = settings.optimizer
    binary = optimizer.options.get("binary")
    if optimizer.name != "split" or not isinstance(binary, dict) or not is_binary_optimizer(binary.get("name")):
        return
    if optimizer.options.get("allow_surrogate_gradient") or surrogate_gradient_is_identity(settings.binary):
        return
    raise BnnError(
        f"{key}.optimizer.binary.name: {binary['name']} expects the identity gradient at ±1 weights "
        f"(docs/methods.md §2), but weight_estimator {settings.binary.weight_estimator.name!r} with scaling "
        f"{settings.binary.scaling!r} changes it; use ste or clipped_ste and scaling none, or set "
        "optimizer.allow_surrogate_gradient: true"
    )


def check_settings(
    settings: Settings, model: ModelSpec, model_key: str, dataset: str, info: DatasetInfo, key: str, stage: bool
) -> None:
    """Build everything a stage with these settings builds and check the settings that must agree. Config-level
    settings (``stage=False``) are checked as if their stages binarized the controlled layers from epoch 0."""
    net = meta_model(model, info, settings.binary, key, model_key)
    layers = binary_layers(net)
    build_loss(settings.loss, info.num_classes, f"{key}.loss")
    # augment vs a streamed dataset only per stage: a recipe's per-dataset override may clear train.augment
    check_stream_settings(dataset, info.streams, settings.augment if stage else Augment(), settings.workers, key)
    check_distributed(settings, key)
    schedule = settings.schedule
    if settings.epochs is not None:
        schedule.check(settings.epochs, len(layers), f"{key}.schedule", tables_ready=False)
    latent = schedule.ever_binary_weights(len(layers)) if stage else schedule.controlled(len(layers))
    Optimizers(
        settings.optimizer,
        settings.lr_schedule,
        net,
        [layers[i] for i in latent],
        settings.epochs or 1,
        f"{key}.optimizer",
        f"{key}.lr_schedule",
        binary_from_start=schedule.weights.kind == "binary" or not stage,
    )
    check_binary_optimizer(settings, key)


def check_stage(spec: StageSpec, info: DatasetInfo, key: str = "spec", model_key: str = "spec.model") -> None:
    """A whole stage: its settings, and a teacher when its loss needs one."""
    check_settings(spec, spec.model, model_key, spec.run.dataset, info, key, stage=True)
    if build_loss(spec.loss, info.num_classes, f"{key}.loss").needs_teacher and not spec.teacher:
        raise BnnError(
            f"{key}.teacher: loss {list(spec.loss.to_dict())} needs a teacher; set the recipe's teacher: "
            "to a recipe such as float"
        )
