"""Evaluate a final checkpoint on the test split: accuracy, size, and a proof that binary layers are binary.

Writes ``eval.json``: the run identity, ``arch`` (the checkpoint's architecture), top-1/top-5 (%), test loss, the
test images and how many were right, the BNN summary's totals (:mod:`.model_summary`: parameter counts, W/A bits,
packed and float size, compression, MACs and BOPs), epochs and training seconds summed over the stages that led to
the checkpoint, and ``binary_check``: on the whole test split, every binary layer's effective weights take exactly two
values ±scale per output channel, and every binary-activation layer sees only ±1 inputs; under sign0 (``sign_zero:
zero``) an exact 0.0 binarizes to 0 by definition, a third value that is allowed and counted per layer
(``zero_weights``, ``zero_inputs``).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from bnn.data import make_loader, read_meta
from bnn.errors import BnnError
from bnn.evaluation.model_summary import model_summary
from bnn.evaluation.scoring import score
from bnn.nn import BinaryLayer, binary_layers
from bnn.nn.binarized import split_weight
from bnn.report.costs import run_cost
from bnn.report.predictions import write_predictions
from bnn.train import checkpoint


def allows_zero(estimator: nn.Module) -> bool:
    """sign0 (``sign_zero: zero``) maps an exact 0.0 to 0: a third value the binary check accepts and counts."""
    return getattr(estimator, "zero", "plus") == "zero"


def zero_weights(layer: BinaryLayer) -> int | None:
    """How many of a binary-weight layer's effective weights are 0 when they take only the values ±scale_c and,
    under sign0, 0 (one scale_c > 0 per output channel); None when they are not binary."""
    if split_weight(layer) is not None:
        return 0
    if not allows_zero(layer.weight_estimator):
        return None
    with torch.no_grad():
        magnitude = layer.effective_weight().detach().flatten(1).abs()
    scale = magnitude.amax(dim=1, keepdim=True)
    binary = bool((scale > 0).all() and ((magnitude == 0) | (magnitude == scale)).all())
    return int((magnitude == 0).sum()) if binary else None


class BinaryCheck:
    """While active, every binary-activation layer's binarized input is checked on every batch: each value is ±1, or
    0 where the layer's sign is sign0 (an exact 0.0 input, counted). :meth:`result` adds the weights' check."""

    def __init__(self, model: nn.Module):
        self.layers = binary_layers(model)
        self.bad_inputs: set[int] = set()
        self.zero_inputs: dict[int, int] = {}
        self.handles: list = []

    def watch(self, index: int):
        def hook(layer, args):
            values = layer.effective_input(args[0])
            zeros = int((values == 0).sum())
            if int((values.abs() == 1).sum()) + zeros != values.numel() or (
                zeros and not allows_zero(layer.act_estimator)
            ):
                self.bad_inputs.add(index)
            if zeros:
                self.zero_inputs[index] = self.zero_inputs.get(index, 0) + zeros

        return hook

    def __enter__(self) -> BinaryCheck:
        self.handles = [
            layer.register_forward_pre_hook(self.watch(i)) for i, layer in enumerate(self.layers) if layer.binary_acts
        ]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self.handles:
            handle.remove()

    def result(self) -> dict:
        """``ok``, the layers (indices among the binarizable layers) that failed, and the sign0 zeros per layer."""
        zeros = {i: zero_weights(layer) for i, layer in enumerate(self.layers) if layer.binary_weights}
        bad_weights = [i for i, count in zeros.items() if count is None]
        return {
            "ok": not bad_weights and not self.bad_inputs,
            "bad_weight_layers": bad_weights,
            "bad_act_layers": sorted(self.bad_inputs),
            "zero_weights": {str(i): count for i, count in zeros.items() if count},
            "zero_inputs": {str(i): count for i, count in sorted(self.zero_inputs.items())},
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
    with BinaryCheck(model) as watch:
        scores = score(model, loader, keep_predictions=True)
    check = watch.result()
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
