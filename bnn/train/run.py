"""One training stage — the single loop every method runs through (docs/architecture.md, "A stage per job").

A stage spec (:class:`bnn.config.spec.StageSpec`, written to ``spec.yaml`` in the run folder) says which data, model,
binarization schedule, loss, optimizer and epochs to use, and which checkpoints to start from (``init``) and to
distil from (``teacher``). Methods differ only in these data. Each epoch: the schedule sets the layers' switches,
the callbacks hear ``on_epoch_start``, one pass trains (:mod:`bnn.train.loop`), the callbacks hear
``on_epoch_end``, the validation split is scored, and metrics.csv and resume.pt are written.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path

import torch

from bnn.config.spec import StageSpec
from bnn.evaluation.scoring import score
from bnn.io import write_csv, write_yaml
from bnn.nn import set_layer_states
from bnn.nn.cache import frozen_weights
from bnn.plan.layout import CHECKPOINT, METRICS, SPEC
from bnn.train import checkpoint, resume
from bnn.train.flips import flip_ratio, weight_signs
from bnn.train.loop import train_epoch
from bnn.train.parts import StageParts, build_parts

COLUMNS = [
    "epoch",
    "lr",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "binary_weight_layers",
    "binary_act_layers",
    "flip_ratio",
    "seconds",
]


def run_epoch(parts: StageParts, epoch: int) -> dict:
    """Train and validate one epoch; returns its metrics.csv row."""
    start = time.perf_counter()
    states = parts.schedule.states(epoch, parts.n_layers)
    set_layer_states(parts.model, states)
    parts.train.set_epoch(epoch)
    for callback in parts.callbacks:
        callback.on_epoch_start(epoch, parts.spec.epochs)
    lr = parts.optimizers.lr()
    signs = weight_signs(parts.model)
    train_loss, train_acc = parts.ranks.mean(*train_epoch(parts, epoch))
    flips = flip_ratio(signs, parts.model)
    for callback in parts.callbacks:
        callback.on_epoch_end(epoch)
    val = score(parts.forward, parts.val)
    return {
        "epoch": epoch,
        "lr": f"{lr:.6g}",
        "train_loss": f"{train_loss:.6f}",
        "train_acc": f"{train_acc:.4f}",
        "val_loss": f"{val.loss:.6f}",
        "val_acc": f"{val.top1:.4f}",
        "binary_weight_layers": sum(s[0] for s in states),
        "binary_act_layers": sum(s[1] for s in states),
        "flip_ratio": "" if flips is None else f"{flips:.6f}",
        "seconds": f"{time.perf_counter() - start:.3f}",
    }


def log_epoch(label: str, epochs: int, row: dict) -> None:
    print(
        f"[{label}] epoch {row['epoch'] + 1}/{epochs} lr {float(row['lr']):.4g} train loss "
        f"{float(row['train_loss']):.4f} acc {float(row['train_acc']):.2f} | val loss {float(row['val_loss']):.4f} "
        f"acc {float(row['val_acc']):.2f} | binary layers W {row['binary_weight_layers']} A "
        f"{row['binary_act_layers']}",
        flush=True,
    )


def run_stage(spec: StageSpec, run_dir: str | Path) -> dict:
    """Train one stage and write spec.yaml, metrics.csv and checkpoint.pt into ``run_dir``."""
    run_dir = Path(run_dir)
    torch.set_num_threads(spec.threads)
    torch.manual_seed(spec.seed)
    parts = build_parts(spec)
    main = parts.ranks.is_main
    run_dir.mkdir(parents=True, exist_ok=True)
    if main:
        write_yaml(run_dir / SPEC, spec.to_dict())
    with parts.ranks.main_first():
        first_epoch, rows, note = resume.restore(run_dir, spec, parts.model, parts.optimizers, parts.loss)
    if note and main:
        print(f"[{spec.run.label}] {note}", flush=True)
    with frozen_weights(parts.teacher) if parts.teacher is not None else nullcontext():  # a frozen teacher: once
        for epoch in range(first_epoch, spec.epochs):
            rows.append(run_epoch(parts, epoch))
            if main:  # rank 0 prints and writes
                log_epoch(spec.run.label, spec.epochs, rows[-1])
                write_csv(run_dir / METRICS, rows, COLUMNS)
                resume.save(run_dir, spec, epoch + 1, parts.model, parts.optimizers, parts.loss, rows)
    seconds = sum(float(row["seconds"]) for row in rows)
    result = {"seconds": seconds, "epochs": spec.epochs, "final": rows[-1] if rows else {}}
    if main:
        lineage = [
            *parts.lineage,
            {"stage": spec.run.stage, "method": spec.run.method, "epochs": spec.epochs, "seconds": round(seconds, 3)},
        ]
        checkpoint.write(run_dir / CHECKPOINT, spec, parts.meta, parts.model, parts.loss, lineage)
        resume.clear(run_dir)
    return result
