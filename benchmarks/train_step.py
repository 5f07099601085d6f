"""Training-step and eval cost of binary networks against their float twins, side by side in one run.

Each model is built once per mode as a stage builds it: its settings parsed by ``bnn.spec.Settings`` (binary,
loss, optimizer, amp), the model by ``bnn.stage_model.build_model``, layer states from a ``Schedule`` with
``layers: inner``, the loss by ``bnn.losses.build_loss`` (SKD's shadow branch hooked into the model), Adam by
``bnn.optim.Optimizers``, and the forward through ``bnn.accel.accelerate`` (so ``amp`` is what a stage runs).
The modes' steps are interleaved and repeated; the median is reported.

Train modes (``--modes``):

* ``float``: every layer real, fp32;
* ``w1a1``: inner layers binary weights and activations, clipped STE, no scale (METHODS.md §0.2-2), fp32;
* ``w1a1_bf16``: the same with ``amp: binary_bf16`` (products of the binary layers in bf16);
* ``w1a1_amp``: the same with ``amp: bf16`` (the whole forward under autocast);
* ``irnet``: EDE weights and activations (§0.2-4), Libra-PB (§0.3), sign0, fp32;
* ``irnet_skd``: ``irnet`` with SKD-BNN's loss (§6), fp32; ``irnet_skd_bf16``: with ``amp: binary_bf16``;
* ``float_fused``, ``irnet_skd_fused``, ``irnet_skd_bf16_fused``: those modes with
  ``optimizer: {name: adam, fused: true}`` (PyTorch's fused CPU Adam, as configs/skd_bnn.yaml's MNIST row).
  Every other mode: the default for-loop Adam.

Eval cases (``--eval``): forward latency in eval mode under ``torch.no_grad``, float vs ``w1a1``, VGG-Small
at batch 1 and 64.

Random data (timing only). ``THP_MEM_ALLOC_ENABLE=1`` in the environment makes torch's large CPU
allocations use transparent huge pages (fewer page faults). Not a test. Examples::

    PYTHONPATH=. python benchmarks/train_step.py --eval                # the table
    PYTHONPATH=. python benchmarks/train_step.py --json --models binarynet_mlp --repeats 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass

import torch

from bnn.accel import accelerate
from bnn.losses import build_loss
from bnn.nn import binary_layers, set_layer_states
from bnn.optim import Optimizers
from bnn.spec import ModelSpec, Settings
from bnn.stage_model import build_model

MODELS = {  # name -> (model spec, input shape, classes, batch)
    "binarynet_mlp": ({"arch": "binarynet_mlp"}, (1, 28, 28), 10, 256),
    "resnet20_bireal": ({"arch": "resnet20_bireal"}, (3, 32, 32), 10, 128),
    "vgg_small": ({"arch": "vgg_small"}, (3, 32, 32), 10, 128),
}
CLIPPED = {"weight_estimator": "clipped_ste", "act_estimator": "clipped_ste", "scaling": "none"}
IRNET = {"weight_estimator": "ede", "act_estimator": "ede", "scaling": "libra_pb", "sign_zero": "zero"}
CE = {"ce": 1.0}
SKD = {"ce": 1.0, "skd_features": 1.0, "skd_labels": {"weight": 0.05, "temperature": 4.0}, "skd_cluster": 0.01}
ADAM, FUSED = {"name": "adam"}, {"name": "adam", "fused": True}  # fused: PyTorch's one-kernel CPU Adam
MODES = {  # name -> (binary options, binary layers?, amp, loss, optimizer); SKD: configs/skd_bnn.yaml's loss (§6.6)
    "float": (CLIPPED, False, "none", CE, ADAM),
    "w1a1": (CLIPPED, True, "none", CE, ADAM),
    "w1a1_amp": (CLIPPED, True, "bf16", CE, ADAM),
    "w1a1_bf16": (CLIPPED, True, "binary_bf16", CE, ADAM),
    "irnet": (IRNET, True, "none", CE, ADAM),
    "irnet_skd": (IRNET, True, "none", SKD, ADAM),
    "irnet_skd_bf16": (IRNET, True, "binary_bf16", SKD, ADAM),
    "float_fused": (CLIPPED, False, "none", CE, FUSED),
    "irnet_skd_fused": (IRNET, True, "none", SKD, FUSED),  # configs/skd_bnn.yaml's MNIST row
    "irnet_skd_bf16_fused": (IRNET, True, "binary_bf16", SKD, FUSED),
}
EVAL_MODES = ("float", "w1a1")
EVAL_CASES = (("vgg_small", 1), ("vgg_small", 64))


@dataclass
class Case:
    """One model in one mode, ready to step."""

    model: torch.nn.Module
    forward: torch.nn.Module
    loss: object
    optimizers: Optimizers | None
    x: torch.Tensor
    y: torch.Tensor


def make_case(model_name: str, mode: str, batch: int, train: bool = True) -> Case:
    """The model of ``model_name`` in ``mode``, built as a stage builds it, with a random batch."""
    model_spec, shape, classes, _ = MODELS[model_name]
    binary, is_binary, amp, loss_spec, optimizer = MODES[mode]
    layers = "binary" if is_binary else "real"
    settings = Settings.parse(
        {
            "binary": binary,
            "amp": amp,
            "loss": loss_spec,
            "optimizer": optimizer,
            "schedule": {"weights": layers, "acts": layers, "layers": "inner"},
        },
        "train",
    )
    torch.manual_seed(0)
    model = build_model(ModelSpec.parse(model_spec, "model"), classes, shape, settings.binary)
    set_layer_states(model, settings.schedule.states(0, len(binary_layers(model))))
    forward = accelerate(model, settings, torch.device("cpu"))
    loss = build_loss(settings.loss, classes, "loss", model)
    optimizers = Optimizers(settings.optimizer, settings.lr_schedule, model, [], 1) if train else None
    x, y = torch.randn(batch, *shape), torch.randint(0, classes, (batch,))
    return Case(model.train(train), forward, loss, optimizers, x, y)


def train_step(case: Case) -> None:
    loss = case.loss(case.forward(case.x), case.y)
    case.optimizers.zero_grad()
    loss.backward()
    case.optimizers.step()


@torch.no_grad()
def eval_step(case: Case) -> None:
    case.forward(case.x)


def timed(step, case: Case) -> float:
    start = time.perf_counter()
    step(case)
    return (time.perf_counter() - start) * 1000.0


def measure(cases: dict[str, Case], step, repeats: int, warmup: int) -> dict[str, float]:
    """Median ms per step of each case; the cases' steps are interleaved so load changes hit all alike."""
    for _ in range(warmup):
        for case in cases.values():
            step(case)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, case in cases.items():
            times[name].append(timed(step, case))
    return {name: statistics.median(values) for name, values in times.items()}


def rows_for(
    model_name: str, modes: list[str], batch: int, threads: int, repeats: int, warmup: int, train: bool
) -> list[dict]:
    cases = {mode: make_case(model_name, mode, batch, train) for mode in modes}
    medians = measure(cases, train_step if train else eval_step, repeats, warmup)
    return [
        {
            "model": model_name,
            "mode": mode if train else f"{mode}_eval",
            "batch": batch,
            "threads": threads,
            "ms_per_step": round(ms, 2),
            "img_per_s": round(batch * 1000.0 / ms, 1),
            "vs_float": round(ms / medians["float"], 3) if "float" in medians else None,
        }
        for mode, ms in medians.items()
    ]


def table(rows: list[dict]) -> str:
    lines = ["| model | mode | batch | threads | ms/step | img/s | x float |", "|---|---|---:|---:|---:|---:|---:|"]
    lines += [
        f"| {r['model']} | {r['mode']} | {r['batch']} | {r['threads']} | {r['ms_per_step']:.1f} | "
        f"{r['img_per_s']:.1f} | {r['vs_float'] if r['vs_float'] is not None else ''} |"
        for r in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7, help="timed steps per case (median reported)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--eval", action="store_true", help="also time eval forwards (vgg_small, batch 1 and 64)")
    parser.add_argument("--no-train", action="store_true", help="skip the training steps")
    parser.add_argument("--json", action="store_true", help="print a JSON list of rows instead of the table")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    if not args.no_train:
        for name in args.models:
            rows += rows_for(name, args.modes, MODELS[name][3], args.threads, args.repeats, args.warmup, True)
    if args.eval:
        for name, batch in EVAL_CASES:
            rows += rows_for(name, list(EVAL_MODES), batch, args.threads, args.repeats * 3, args.warmup, False)
    print(json.dumps(rows, indent=1) if args.json else table(rows))


if __name__ == "__main__":
    main()
