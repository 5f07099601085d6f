"""Evaluate a final checkpoint on the test split: accuracy, size, and a proof that binary layers are binary.

Writes ``eval.json``: the run identity, ``arch`` (the checkpoint's architecture), top-1/top-5 (%), test loss, the
test images and how many were right, the BNN summary's totals (:mod:`bnn.model_summary`: parameter counts, W/A bits,
packed and float size, compression, MACs and BOPs), epochs and training seconds summed over the stages that led to
the checkpoint, and ``binary_check``: every binary layer's effective weights take exactly two values ±scale per
output channel, and every binary-activation layer sees only ±1 inputs.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from bnn import checkpoint
from bnn.binarized import split_weight
from bnn.data import make_loader, read_meta
from bnn.errors import BnnError
from bnn.model_summary import model_summary
from bnn.nn import binary_layers
from bnn.report.costs import run_cost
from bnn.report.predictions import write_predictions
from bnn.scoring import score


def check_binary(model: nn.Module, x: torch.Tensor) -> dict:
    """Check weights of binary-weight layers and the inputs seen by binary-activation layers."""
    layers = binary_layers(model)
    bad_inputs: set[int] = set()

    def watch(index: int):
        def hook(layer, args):
            values = torch.unique(layer.effective_input(args[0]))
            if not set(values.tolist()) <= {-1.0, 1.0}:
                bad_inputs.add(index)

        return hook

    handles = [layer.register_forward_pre_hook(watch(i)) for i, layer in enumerate(layers) if layer.binary_acts]
    with torch.no_grad():
        model.eval()(x)
    for handle in handles:
        handle.remove()
    bad_weights = [i for i, layer in enumerate(layers) if layer.binary_weights and split_weight(layer) is None]
    return {
        "ok": not bad_weights and not bad_inputs,
        "bad_weight_layers": bad_weights,
        "bad_act_layers": sorted(bad_inputs),
    }


def evaluate(
    checkpoint_path: str | Path,
    data_dir: str | Path,
    benchmarks: list[str | Path] = (),
    batch_size: int = 512,
    predictions: str | Path | None = None,
) -> dict:
    """The run's eval.json record: test metrics, summary totals, binary check, and its cost from its stages'
    Snakemake ``benchmarks`` (bnn.report.costs; None without them). ``predictions``: where to write every test
    image's label and top-1 prediction (bnn.report.predictions)."""
    ckpt = checkpoint.read(checkpoint_path)
    meta = read_meta(data_dir)
    checkpoint.check_data(ckpt, meta, checkpoint_path, "--checkpoint")
    model = checkpoint.rebuild(ckpt, checkpoint_path).eval()
    loader = make_loader(data_dir, meta, "test", batch_size, torch.device("cpu"))
    scores = score(model, loader, keep_predictions=True)
    check = check_binary(model, next(iter(loader))[0])
    if not check["ok"]:
        raise BnnError(
            f"binary check failed for {checkpoint_path}: weight layers {check['bad_weight_layers']}, "
            f"activation layers {check['bad_act_layers']} are not two-valued"
        )
    if predictions is not None:
        write_predictions(predictions, scores.labels.numpy(), scores.predicted.numpy())
    lineage = ckpt.get("lineage", [])
    return {
        **ckpt["run"],
        "arch": ckpt["model"]["arch"],
        **model_summary(model, ckpt["in_shape"]).record(),
        "top1": round(scores.top1, 4),
        "top5": round(scores.top5, 4),
        "test_loss": round(scores.loss, 6),
        "test_images": scores.count,
        "test_correct": int((scores.labels == scores.predicted).sum()),
        "epochs": sum(int(s["epochs"]) for s in lineage),
        "train_seconds": round(sum(float(s["seconds"]) for s in lineage), 3),
        "stages": [s["stage"] for s in lineage],
        "binary_check": check,
        **run_cost(list(benchmarks)),
    }
