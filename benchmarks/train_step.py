"""Training-step and eval cost of binary networks against their float twins, each measured in its own process.

Each model is built once per mode as a stage builds it: its settings parsed by ``bnn.config.spec.Settings`` (binary,
loss, optimizer, amp), the model by ``bnn.train.model.build_model``, layer states from a ``Schedule`` with
``layers: inner``, the loss by ``bnn.losses.build_loss`` (SKD's shadow branch hooked into the model), Adam by
``bnn.optim.Optimizers``, and the forward through ``bnn.train.accel.accelerate`` (so ``amp`` is what a stage runs).

Isolation: every (model, mode) measurement runs in a fresh Python process (the script re-invokes itself with
``--worker``), which builds the one case, warms up and times ``--repeats`` steps, so no mode inherits the
allocator state of another. The processes run in ``--blocks`` blocks, every mode once per block, the order
reversed every other block, so a slow drift of the machine's load hits all modes alike. Reported: the median
over all timed steps of all blocks, and the lowest and highest per-block median (the noise).

Train modes (``--modes``):

* ``float``: every layer real, fp32;
* ``torch_float``: the reference, plain PyTorch: the same architecture with every BinaryLinear / BinaryConv2d
  replaced by an ``nn.Linear`` / ``nn.Conv2d`` of the same shape, ``nn.CrossEntropyLoss``, ``torch.optim.Adam``
  (no ``accelerate``, no ``Optimizers``);
* ``w1a1``: inner layers binary weights and activations, clipped STE, no scale (docs/methods.md §0.2-2), fp32;
* ``w1a1_bf16``: the same with ``amp: binary_bf16`` (products of the binary layers in bf16);
* ``w1a1_amp``: the same with ``amp: bf16`` (the whole forward under autocast);
* ``irnet``: EDE weights and activations (§0.2-4), Libra-PB (§0.3), sign0, fp32;
* ``irnet_skd``: ``irnet`` with SKD-BNN's loss (§6), fp32; ``irnet_skd_bf16``: with ``amp: binary_bf16``;
* ``float_fused``, ``irnet_skd_fused``, ``irnet_skd_bf16_fused``: those modes with
  ``optimizer: {name: adam, fused: true}`` (PyTorch's fused CPU Adam, as configs/skd_bnn.yaml's MNIST row).
  Every other mode: the default for-loop Adam.

On a CPU without bf16 instructions (no AVX-512 BF16 or AMX) the bf16 modes are very slow (a bf16 matrix product
ran 5x slower than fp32 on a Zen 1 EPYC): leave them out with ``--modes``.

Every row gives its step time as a multiple of ``float``'s and of ``torch_float``'s. Eval cases (``--eval``):
forward latency in eval mode under ``torch.no_grad``, ``float``, ``w1a1`` and ``torch_float``, VGG-Small at
batch 1 and 64, isolated the same way (3x ``--repeats`` forwards per process), all inside one
``bnn.nn.cache.frozen_weights`` scope as the evaluation loop runs a pass (binary weights computed once).

Random data (timing only). ``THP_MEM_ALLOC_ENABLE=1`` in the environment makes torch's large CPU
allocations use transparent huge pages (fewer page faults). Not a test. Examples::

    PYTHONPATH=. python benchmarks/train_step.py --eval                # the table
    PYTHONPATH=. python benchmarks/train_step.py --json --models binarynet_mlp --modes float w1a1 torch_float
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

import torch
from torch import nn

from bnn.config.spec import ModelSpec, Settings
from bnn.losses import build_loss
from bnn.nn import BinaryConv2d, BinaryLinear, binary_layers, set_layer_states
from bnn.nn.cache import frozen_weights
from bnn.optim import Optimizers
from bnn.train.accel import accelerate
from bnn.train.model import build_model

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
PLAIN = "torch_float"  # built as float, then made plain PyTorch (plain_twin, nn.CrossEntropyLoss, torch.optim.Adam)
MODES = {  # name -> (binary options, binary layers?, amp, loss, optimizer); SKD: configs/skd_bnn.yaml's loss (§6.6)
    "float": (CLIPPED, False, "none", CE, ADAM),
    PLAIN: (CLIPPED, False, "none", CE, ADAM),
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
EVAL_MODES = ("float", "w1a1", PLAIN)
EVAL_CASES = (("vgg_small", 1), ("vgg_small", 64))


@dataclass
class Case:
    """One model in one mode, ready to step."""

    model: nn.Module
    forward: nn.Module
    loss: object
    optimizers: Optimizers | torch.optim.Optimizer | None
    x: torch.Tensor
    y: torch.Tensor


def plain_twin(model: nn.Module) -> nn.Module:
    """Swap every BinaryLinear / BinaryConv2d of ``model`` for a plain ``nn.Linear`` / ``nn.Conv2d`` of the same
    shape, in place, keeping the parameters (built on the meta device, so nothing is allocated for them)."""
    for parent in list(model.modules()):
        for name, layer in list(parent.named_children()):
            bias = getattr(layer, "bias", None) is not None
            if isinstance(layer, BinaryLinear):
                plain = nn.Linear(layer.in_features, layer.out_features, bias, device="meta")
            elif isinstance(layer, BinaryConv2d):
                shape = layer.kernel_size, layer.stride, layer.padding, layer.dilation, layer.groups
                plain = nn.Conv2d(layer.in_channels, layer.out_channels, *shape, bias, device="meta")
            else:
                continue
            plain.weight, plain.bias = layer.weight, layer.bias
            setattr(parent, name, plain)
    assert not binary_layers(model)
    return model


def make_case(model_name: str, mode: str, batch: int, train: bool = True) -> Case:
    """The model of ``model_name`` in ``mode``, built as a stage builds it (or plain, ``torch_float``), with a random
    batch."""
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
    if mode == PLAIN:
        forward = plain_twin(model)
        loss = nn.CrossEntropyLoss()
        optimizers = torch.optim.Adam(model.parameters()) if train else None
    else:
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


def worker(model_name: str, mode: str, batch: int, train: bool, repeats: int, warmup: int) -> list[float]:
    """ms of each of ``repeats`` steps of one case, after ``warmup`` steps (run in a process of its own)."""
    case = make_case(model_name, mode, batch, train)
    step = train_step if train else eval_step
    times = []
    with contextlib.nullcontext() if train else frozen_weights(case.model):
        for _ in range(warmup):
            step(case)
        for _ in range(repeats):
            start = time.perf_counter()
            step(case)
            times.append((time.perf_counter() - start) * 1000.0)
    return times


def in_process(model_name: str, mode: str, batch: int, train: bool, args) -> list[float]:
    """``worker``'s step times from a fresh Python process."""
    command = [sys.executable, __file__, "--worker", model_name, mode, str(batch), "train" if train else "eval"]
    command += ["--threads", str(args.threads), "--repeats", str(args.repeats * (1 if train else 3))]
    command += ["--warmup", str(args.warmup)]
    return json.loads(subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout)


def measure(model_name: str, modes: list[str], batch: int, train: bool, args) -> dict[str, list[list[float]]]:
    """Step times of each mode per block: every mode once per block, each in its own process, the order reversed
    every other block."""
    times: dict[str, list[list[float]]] = {mode: [] for mode in modes}
    for block in range(args.blocks):
        for mode in modes if block % 2 == 0 else modes[::-1]:
            times[mode].append(in_process(model_name, mode, batch, train, args))
            median = statistics.median(times[mode][-1])
            print(f"{model_name} {mode} b{batch} block {block + 1}: {median:.1f} ms", file=sys.stderr, flush=True)
    return times


def rows_for(model_name: str, modes: list[str], batch: int, train: bool, args) -> list[dict]:
    times = measure(model_name, modes, batch, train, args)
    ms = {mode: statistics.median(t for block in blocks for t in block) for mode, blocks in times.items()}
    rows = []
    for mode, blocks in times.items():
        block_medians = [statistics.median(block) for block in blocks]
        rows.append(
            {
                "model": model_name,
                "mode": mode if train else f"{mode}_eval",
                "batch": batch,
                "threads": args.threads,
                "steps": sum(len(block) for block in blocks),
                "ms_per_step": round(ms[mode], 2),
                "ms_block_min": round(min(block_medians), 2),
                "ms_block_max": round(max(block_medians), 2),
                "img_per_s": round(batch * 1000.0 / ms[mode], 1),
                "vs_float": round(ms[mode] / ms["float"], 3) if "float" in ms else None,
                "vs_torch_float": round(ms[mode] / ms[PLAIN], 3) if PLAIN in ms else None,
            }
        )
    return rows


def as_ratio(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio:.2f}x"


def table(rows: list[dict]) -> str:
    lines = [
        "| model | mode | batch | threads | ms/step | block medians | img/s | x float | x torch_float |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['model']} | {r['mode']} | {r['batch']} | {r['threads']} | {r['ms_per_step']:.1f} | "
        f"{r['ms_block_min']:.1f}–{r['ms_block_max']:.1f} | {r['img_per_s']:.1f} | "
        f"{as_ratio(r['vs_float'])} | {as_ratio(r['vs_torch_float'])} |"
        for r in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--blocks", type=int, default=3, help="blocks of one process per mode (order alternating)")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per process (eval: 3x)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per process")
    parser.add_argument("--eval", action="store_true", help="also time eval forwards (vgg_small, batch 1 and 64)")
    parser.add_argument("--no-train", action="store_true", help="skip the training steps")
    parser.add_argument("--json", action="store_true", help="print a JSON list of rows instead of the table")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)  # MODEL MODE BATCH train|eval: one measurement
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.worker:
        model_name, mode, batch, step = args.worker
        print(json.dumps(worker(model_name, mode, int(batch), step == "train", args.repeats, args.warmup)))
        return
    rows = []
    if not args.no_train:
        for name in args.models:
            rows += rows_for(name, args.modes, MODELS[name][3], True, args)
    if args.eval:
        for name, batch in EVAL_CASES:
            rows += rows_for(name, list(EVAL_MODES), batch, False, args)
    print(json.dumps(rows, indent=1) if args.json else table(rows))


if __name__ == "__main__":
    main()
