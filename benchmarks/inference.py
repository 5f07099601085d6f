"""Inference latency of binary networks: PyTorch float/binary, OpenVINO float/binary, onnxruntime.

Each architecture is built with random weights and its inner layers W1/A1 (first and last real, as the
default schedule), exported with ``bnn.deploy`` (OpenVINO IR whose W1/A1 layers compile to
BinaryConvolution; plain ONNX), and timed on every backend at each batch and thread count: median ms per
call after warm-up, the backends taking turns (bnn.deploy.latency). ``load`` is the 1-minute load
average around each case (other jobs on the machine slow the multi-threaded PyTorch rows most). Not a
test. Example:

    PYTHONPATH=. python benchmarks/inference.py                       # every case of issue 12
    PYTHONPATH=. python benchmarks/inference.py --arch vgg_small --batch 1 --threads 2 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import torch

from bnn.config.schedule import Schedule
from bnn.config.spec import BinarySpec, ModelSpec
from bnn.deploy.artifacts import export_model
from bnn.deploy.backends import BACKENDS
from bnn.deploy.cpu import cpu_record
from bnn.deploy.measure import PYTORCH, SAME_ENGINE, measure_case, speedup
from bnn.nn import binary_layers, set_layer_states
from bnn.train.model import build_model

BINARY = {"scaling": "channel_mean"}
CASES = {  # name -> model spec, input shape, classes, binary options
    "vgg_small": ({"arch": "vgg_small"}, (3, 32, 32), 10, BINARY),
    "resnet18_cifar": ({"arch": "resnet18_cifar"}, (3, 32, 32), 10, BINARY),
    "resnet20_bireal": ({"arch": "resnet20_bireal"}, (3, 32, 32), 10, BINARY),
    "resnet18_bireal": ({"arch": "resnet18_bireal"}, (3, 224, 224), 1000, BINARY),
    # sign(0) = +1: random init leaves an exactly-zero weight among the 9.4M weights of ReActNet-A's 1024-channel
    # 3x3 convs, which sign_zero: zero would make a third value (bnn deploy refuses such a layer)
    "reactnet_a": (
        {"arch": "reactnet_a"},
        (3, 224, 224),
        1000,
        {"scaling": "channel_mean", "act_estimator": "approx_sign"},
    ),
}


def binary_model(name: str) -> torch.nn.Module:
    """The architecture with random weights, inner layers W1/A1 (the default schedule's ``layers: inner``)."""
    spec, in_shape, classes, binary = CASES[name]
    torch.manual_seed(0)
    model = build_model(ModelSpec.parse(spec, "model"), classes, in_shape, BinarySpec.parse(binary, "binary"))
    schedule = Schedule.parse({"weights": "binary", "acts": "binary", "layers": "inner"})
    set_layer_states(model, schedule.states(0, len(binary_layers(model))))
    return model.eval()


def wait_for_quiet(limit: float | None, patience_s: float) -> None:
    """Wait (at most ``patience_s``) until the 1-minute load average is below ``limit`` (None: do not wait)."""
    deadline = time.monotonic() + patience_s
    while limit is not None and os.getloadavg()[0] >= limit and time.monotonic() < deadline:
        time.sleep(5)


def run(
    names: list[str],
    batches: list[int],
    threads: list[int],
    repeats: int,
    backends: tuple[str, ...],
    quiet: tuple[float | None, float] = (None, 0.0),
) -> list[dict]:
    records = []
    for name in names:
        in_shape = CASES[name][1]
        with tempfile.TemporaryDirectory(prefix="bnn-bench-") as scratch:
            deployed = export_model(binary_model(name), in_shape, scratch, scratch, max(threads), tuple(batches))
            for batch in batches:
                for count in threads:
                    wait_for_quiet(*quiet)
                    load = os.getloadavg()[0]
                    case = measure_case(deployed, batch, count, repeats, backends)
                    binary, pytorch = speedup(case["latency_ms"], SAME_ENGINE), speedup(case["latency_ms"], PYTORCH)
                    records.append(
                        {
                            "arch": name,
                            "in_shape": list(in_shape),
                            "batch": batch,
                            "threads": count,
                            "latency_ms": {k: round(v, 3) for k, v in case["latency_ms"].items()},
                            "speedup_vs_openvino_float": None
                            if binary is None or not case["binary_convolutions"]
                            else round(binary, 2),
                            "speedup_vs_torch_float": None if pytorch is None else round(pytorch, 2),
                            "binary_convolutions": case["binary_convolutions"],
                            **deployed.layer_counts(),
                            "load": round((load + os.getloadavg()[0]) / 2, 2),
                        }
                    )
                    print(
                        f"# {name} batch {batch} threads {count}: {records[-1]['latency_ms']}",
                        file=sys.stderr,
                        flush=True,
                    )
    return records


def table(records: list[dict], backends: tuple[str, ...]) -> str:
    head = [
        "arch",
        "batch",
        "threads",
        *(f"{b} ms" for b in backends),
        "binary speed-up (openvino-float / openvino-binary)",
        "openvino-binary vs torch-float",
        "BinaryConvolution / W1/A1",
        "load",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * 3 + " ---: |" * (len(backends) + 4)]
    for r in records:
        cells = [
            r["arch"],
            str(r["batch"]),
            str(r["threads"]),
            *(f"{r['latency_ms'][b]:.3f}" for b in backends),
            "" if r["speedup_vs_openvino_float"] is None else f"**{r['speedup_vs_openvino_float']:.1f}x**",
            "" if r["speedup_vs_torch_float"] is None else f"{r['speedup_vs_torch_float']:.1f}x",
            f"{r['binary_convolutions']} / {r['binary_layers']}",
            f"{r['load']:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", action="append", choices=sorted(CASES), help="architectures (default: all)")
    parser.add_argument("--batch", type=int, action="append", help="batch sizes (default: 1 and 64)")
    parser.add_argument("--threads", type=int, action="append", help="thread counts (default: 1 and 2)")
    parser.add_argument("--backend", action="append", choices=BACKENDS, help="backends (default: all five)")
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per backend (at most ~20 s each)")
    parser.add_argument("--json", action="store_true", help="print the records as JSON instead of a table")
    parser.add_argument(
        "--wait-load",
        type=float,
        help="before each case, wait until the 1-minute load average "
        "is below this (a shared machine's other jobs slow multi-threaded PyTorch most)",
    )
    parser.add_argument("--patience", type=float, default=600.0, help="longest wait per case for --wait-load (s)")
    args = parser.parse_args()
    backends = tuple(args.backend or BACKENDS)
    records = run(
        args.arch or list(CASES),
        args.batch or [1, 64],
        args.threads or [1, 2],
        args.repeats,
        backends,
        (args.wait_load, args.patience),
    )
    if args.json:
        print(json.dumps({"cpu": cpu_record(), "records": records}, indent=1))
    else:
        cpu = cpu_record()
        print(f"CPU: {cpu['cpu_model']}; flags: {cpu['cpu_flags']}; OpenVINO: {cpu['openvino_capabilities']}")
        print(table(records, backends))


if __name__ == "__main__":
    main()
