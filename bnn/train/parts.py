"""What one stage trains with, built from its spec: device, loaders, model (and its accelerated forward),
loss, teacher, optimizers, schedule and the loop's callbacks (:mod:`bnn.train.callbacks`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bnn.config.schedule import Schedule
from bnn.config.spec import StageSpec
from bnn.data import make_loader, read_meta
from bnn.data.datasets import prepared_info
from bnn.errors import BnnError
from bnn.losses import Loss, build_loss
from bnn.nn import binary_layers
from bnn.optim import Optimizers
from bnn.plan.checks import check_stage
from bnn.train import checkpoint
from bnn.train.accel import accelerate
from bnn.train.callbacks import Callbacks, find_callbacks
from bnn.train.distributed import Ranks
from bnn.train.model import build_model

VAL_BATCH = 512


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise BnnError(f"device: {name!r} asked for but no CUDA device is visible; set device: cpu or auto")
    return torch.device(name)


@dataclass
class StageParts:
    spec: StageSpec
    ranks: Ranks
    device: torch.device
    meta: dict
    train: object  # TensorLoader or StreamLoader
    val: object
    model: nn.Module
    forward: nn.Module  # the model in DDP and/or its amp/channels_last/compile wrapper
    loss: Loss
    teacher: nn.Module | None
    optimizers: Optimizers
    schedule: Schedule
    callbacks: list[Callbacks]
    lineage: list[dict]

    @property
    def n_layers(self) -> int:
        return len(binary_layers(self.model))


def init_model(spec: StageSpec, meta: dict) -> tuple[nn.Module, list[dict]]:
    """The stage's model, initialised from ``spec.init`` (every parameter, strictly) when it has one."""
    model = build_model(spec.model, meta["num_classes"], meta["shape"], spec.binary)
    if not spec.init:
        return model, []
    parent = checkpoint.read(spec.init, "init checkpoint")
    ours = {"model": spec.model.to_dict(), "num_classes": meta["num_classes"], "in_shape": list(meta["shape"])}
    if checkpoint.model_signature(parent) != ours:
        raise BnnError(
            f"init: {spec.init} was trained as {checkpoint.model_signature(parent)}, this stage builds "
            f"{ours}; init from a stage of the same model and dataset"
        )
    checkpoint.load_weights(model, parent["state_dict"], spec.init, "init checkpoint", inherit_estimators=False)
    return model, list(parent.get("lineage", []))


def build_parts(spec: StageSpec) -> StageParts:
    meta = read_meta(spec.data)
    check_stage(spec, prepared_info(meta), "spec")
    ranks = Ranks.of_stage(spec)  # rank 0 of 1, or this rank of a distributed stage (bnn.train.distributed)
    device = ranks.device(resolve_device(spec.device))
    train = make_loader(
        spec.data,
        meta,
        "train",
        spec.batch_size,
        device,
        train=True,
        seed=spec.seed,
        augment=spec.augment,
        workers=spec.workers,
        shard=ranks.shard,
    )
    val = make_loader(spec.data, meta, "val", VAL_BATCH, device, workers=spec.workers)
    model, lineage = init_model(spec, meta)
    schedule = spec.schedule
    n_layers = len(binary_layers(model))
    schedule.check(spec.epochs, n_layers, "schedule")
    model = ranks.prepare(model.to(device), device)
    forward = accelerate(ranks.wrap(model, spec, device), spec, device)
    loss = build_loss(spec.loss, meta["num_classes"], "loss", model).to(device)
    teacher = checkpoint.load_frozen(spec.teacher, device, meta, "teacher") if loss.needs_teacher else None
    layers = binary_layers(model)
    optimizers = Optimizers(
        spec.optimizer,
        spec.lr_schedule,
        model,
        [layers[i] for i in schedule.ever_binary_weights(n_layers)],
        spec.epochs,
        binary_from_start=schedule.weights.kind == "binary",
    )
    return StageParts(
        spec,
        ranks,
        device,
        meta,
        train,
        val,
        model,
        forward,
        loss,
        teacher,
        optimizers,
        schedule,
        find_callbacks(model, loss, optimizers),
        lineage,
    )
