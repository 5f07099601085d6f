"""One training stage — the single loop every method runs through (DESIGN.md, "a stage per job").

A stage spec (a mapping, written to ``spec.yaml`` in the run folder) says which data, model,
binarization schedule, loss, optimizer and epochs to use, and which checkpoints to start from
(``init``) and to distil from (``teacher``). Methods differ only in these data.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import nn

from bnn import checkpoint, resume
from bnn.accel import accelerate
from bnn.callbacks import find_callbacks
from bnn.data import TensorLoader, make_loader, read_meta  # TensorLoader: the loaders' interface
from bnn.data.augment import Augment
from bnn.distributed import Ranks
from bnn.errors import BnnError
from bnn.io import save_torch, write_csv, write_yaml
from bnn.losses import build_loss
from bnn.nn import binary_layers, layer_states, set_layer_states
from bnn.optim import Optimizers
from bnn.schedule import Schedule
from bnn.stage_model import build_model

SPEC_KEYS = {"run", "data", "model", "init", "teacher", "epochs", "batch_size", "schedule", "binary",
             "optimizer", "lr_schedule", "loss", "device", "threads", "seed", "augment",
             "amp", "channels_last", "compile", "workers", "distributed"}
METRICS = ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "binary_weight_layers",
           "binary_act_layers", "flip_ratio", "seconds"]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise BnnError(f"device: {name!r} asked for but no CUDA device is visible; set device: cpu or auto")
    return torch.device(name)


@torch.no_grad()
def evaluate_loader(model: nn.Module, loader: TensorLoader) -> tuple[float, float]:
    """Mean cross-entropy and top-1 accuracy (%) of ``model`` over ``loader``."""
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    for x, y in loader:
        logits = model(x)
        loss_sum += nn.functional.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
        count += len(y)
    return loss_sum / count, 100.0 * correct / count


def load_teacher(path: str, device: torch.device, meta: dict) -> nn.Module:
    ckpt = checkpoint.read(path, "teacher")
    if [ckpt["num_classes"], list(ckpt["in_shape"])] != [meta["num_classes"], list(meta["shape"])]:
        raise BnnError(f"teacher: {path} was trained for {ckpt['num_classes']} classes of shape {ckpt['in_shape']}, "
                       f"this stage's data has {meta['num_classes']} of {meta['shape']}; use a teacher of the same dataset")
    teacher = checkpoint.rebuild(ckpt, path, "teacher").to(device).eval()
    for param in teacher.parameters():
        param.requires_grad_(False)
    return teacher


def check_spec(spec: dict) -> None:
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise BnnError(f"spec.{unknown[0]}: unknown key; known: {', '.join(sorted(SPEC_KEYS))}")
    for key in ("run", "data", "model", "epochs", "batch_size"):
        if key not in spec:
            raise BnnError(f"spec.{key}: missing")


def run_stage(spec: dict, run_dir: str | Path) -> dict:
    """Train one stage and write spec.yaml, metrics.csv and checkpoint.pt into ``run_dir``."""
    check_spec(spec)
    run_dir = Path(run_dir)
    run = spec["run"]
    label = "/".join(str(run[k]) for k in ("dataset", "model", "method", "seed", "stage") if k in run)
    torch.set_num_threads(int(spec.get("threads", 1)))
    torch.manual_seed(int(spec.get("seed", 0)))
    ranks = Ranks.of_stage(spec)  # rank 0 of 1, or this rank of a distributed stage (bnn.distributed)
    device = ranks.device(resolve_device(spec.get("device", "auto")))
    epochs = int(spec["epochs"])

    meta = read_meta(spec["data"])
    workers = spec.get("workers")
    train = make_loader(spec["data"], meta, "train", int(spec["batch_size"]), device, train=True,
                        seed=int(spec.get("seed", 0)), augment=Augment.parse(spec.get("augment")), workers=workers,
                        shard=ranks.shard)
    val = make_loader(spec["data"], meta, "val", 512, device, workers=workers)

    binary = spec.get("binary", {})
    model = build_model(spec["model"], meta["num_classes"], meta["shape"], binary)
    schedule = Schedule.parse(spec.get("schedule", {}), "schedule")
    n_layers = len(binary_layers(model))
    schedule.check(epochs, n_layers, "schedule")

    lineage: list[dict] = []
    if spec.get("init"):
        parent = checkpoint.read(spec["init"], "init checkpoint")
        ours = {"model": spec["model"], "num_classes": meta["num_classes"], "in_shape": list(meta["shape"])}
        if checkpoint.model_signature(parent) != ours:
            raise BnnError(f"init: {spec['init']} was trained as {checkpoint.model_signature(parent)}, "
                           f"this stage builds {ours}; init from a stage of the same model and dataset")
        checkpoint.load_weights(model, parent["state_dict"], spec["init"], "init checkpoint")
        lineage = list(parent.get("lineage", []))
    model = ranks.prepare(model.to(device), device)
    # the model (in DDP when distributed), or its amp/channels_last/compile wrapper
    forward = accelerate(ranks.wrap(model, spec, device), spec, device)

    loss_fn = build_loss(spec.get("loss", {"name": "ce"}))
    teacher = None
    if loss_fn.needs_teacher:
        if not spec.get("teacher"):
            raise BnnError(f"loss.name: {spec['loss']['name']!r} needs a teacher; set teacher: to the float recipe")
        teacher = load_teacher(spec["teacher"], device, meta)
    loss_fn.attach(model)

    layers = binary_layers(model)
    optimizers = Optimizers(spec.get("optimizer", {"name": "adam", "lr": 1e-3}),
                            spec.get("lr_schedule", {"name": "constant"}), model,
                            [layers[i] for i in schedule.latent_layers(n_layers)], epochs,
                            binary_from_start=schedule.weights.kind == "binary")

    run_dir.mkdir(parents=True, exist_ok=True)
    if ranks.is_main:
        write_yaml(run_dir / "spec.yaml", spec)
    with ranks.main_first():
        first_epoch, rows, note = resume.restore(run_dir, spec, model, optimizers, loss_fn)
    if note and ranks.is_main:
        print(f"[{label}] {note}", flush=True)
    for epoch in range(first_epoch, epochs):
        t0 = time.perf_counter()
        states = schedule.states(epoch, n_layers)
        set_layer_states(model, states)
        for part in find_callbacks(model):
            part.on_epoch_start(epoch, epochs)
        train.set_epoch(epoch)
        optimizers.start_epoch()
        lr = optimizers.lr()
        signs = weight_signs(model)
        train_loss, train_acc = train_epoch(forward, train, loss_fn, teacher, optimizers, f"{label} epoch {epoch}")
        train_loss, train_acc = ranks.mean(train_loss, train_acc)
        flips = flip_ratio(signs, model)
        loss_fn.end_epoch()
        optimizers.end_epoch()
        val_loss, val_acc = evaluate_loader(forward, val)
        rows.append({"epoch": epoch, "lr": f"{lr:.6g}", "train_loss": f"{train_loss:.6f}",
                     "train_acc": f"{train_acc:.4f}", "val_loss": f"{val_loss:.6f}", "val_acc": f"{val_acc:.4f}",
                     "binary_weight_layers": sum(s[0] for s in states),
                     "binary_act_layers": sum(s[1] for s in states),
                     "flip_ratio": "" if flips is None else f"{flips:.6f}",
                     "seconds": f"{time.perf_counter() - t0:.3f}"})
        if not ranks.is_main:  # rank 0 prints and writes
            continue
        print(f"[{label}] epoch {epoch + 1}/{epochs} lr {lr:.4g} train loss {train_loss:.4f} acc {train_acc:.2f} "
              f"| val loss {val_loss:.4f} acc {val_acc:.2f} | binary layers W {rows[-1]['binary_weight_layers']} "
              f"A {rows[-1]['binary_act_layers']}", flush=True)
        write_csv(run_dir / "metrics.csv", rows, METRICS)
        resume.save(run_dir, spec, epoch + 1, model, optimizers, loss_fn, rows)

    seconds = sum(float(row["seconds"]) for row in rows)
    result = {"seconds": seconds, "epochs": epochs, "final": rows[-1] if rows else {}}
    if not ranks.is_main:
        return result
    lineage.append({"stage": run.get("stage", ""), "method": run.get("method", ""), "epochs": epochs,
                    "seconds": round(seconds, 3)})
    save_torch(run_dir / "checkpoint.pt", {
        "format": checkpoint.FORMAT,
        "run": run,
        "model": spec["model"],
        "num_classes": meta["num_classes"],
        "in_shape": list(meta["shape"]),
        "binary": binary,
        "layer_states": layer_states(model),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "lineage": lineage,
    })
    resume.clear(run_dir)
    return result


def weight_signs(model: nn.Module) -> dict[int, torch.Tensor]:
    """Signs of the effective weights of the layers whose weights are binary now (eval mode, so a
    stochastic estimator gives its deterministic sign)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        signs = {i: layer.effective_weight().sign() for i, layer in enumerate(binary_layers(model))
                 if layer.binary_weights}
    model.train(was_training)
    return signs


def flip_ratio(before: dict[int, torch.Tensor], model: nn.Module) -> float | None:
    """Fraction of binary weights whose sign changed since ``before`` (AdamBNN's stability measure, §4.4)."""
    if not before:
        return None
    after = weight_signs(model)
    changed = sum((after[i] != signs).sum().item() for i, signs in before.items())
    return changed / sum(signs.numel() for signs in before.values())


def train_epoch(model: nn.Module, loader: TensorLoader, loss_fn, teacher: nn.Module | None,
                optimizers: Optimizers, where: str) -> tuple[float, float]:
    """One pass over ``loader``; returns mean loss and top-1 (%). A non-finite loss stops the stage."""
    model.train()
    loss_sum, correct, count = 0.0, 0, 0
    for batch, (x, y) in enumerate(loader):
        logits = model(x)
        teacher_logits = None
        if teacher is not None:
            with torch.no_grad():
                teacher_logits = teacher(x)
        loss = loss_fn(logits, y, teacher_logits)
        if not torch.isfinite(loss):
            raise BnnError(f"stage {where} batch {batch}: non-finite loss ({loss.item()}); the last completed "
                           "epoch is kept in resume.pt; lower optimizer.lr or check the data")
        optimizers.zero_grad()
        loss.backward()
        optimizers.step()
        loss_sum += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        count += len(y)
    return loss_sum / count, 100.0 * correct / count
