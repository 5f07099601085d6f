"""Latency of a deployed model on each backend, and of an architecture without training.

Backends (bnn.deploy.backends, one module each): ``torch-float`` (the same architecture with every layer real,
PyTorch eval), ``torch-binary`` (the model as trained, PyTorch eval), ``openvino-float`` (the float twin in
OpenVINO), ``openvino-binary`` (the IR; W1/A1 layers as BinaryConvolution) and ``onnxruntime`` (model.onnx;
W1/A1 layers as float convs on 0/1 inputs: no binary kernel). All run f32 on the CPU with the same thread count.
"""

from __future__ import annotations

import tempfile

import torch
from torch import nn

from bnn.deploy.artifacts import Deployed, export_model
from bnn.deploy.backends import BACKENDS, OPENVINO_BINARY, OPENVINO_FLOAT, REGISTRY, TORCH_FLOAT
from bnn.deploy.cpu import cpu_record
from bnn.deploy.latency import median_latency, torch_threads
from bnn.errors import BnnError
from bnn.nn.cache import frozen_weights

SUMMARY_BACKENDS = BACKENDS[:4]
BINARY, SAME_ENGINE, PYTORCH = OPENVINO_BINARY, OPENVINO_FLOAT, TORCH_FLOAT  # speed-ups: reference / BINARY


def check_backends(backends: tuple[str, ...]) -> None:
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        raise BnnError(f"--backend: {unknown[0]!r} is not one of {', '.join(BACKENDS)}")


def check_settings(batches: tuple[int, ...], threads: tuple[int, ...], repeats: int) -> None:
    """Batches, thread counts and repeats are whole numbers >= 1 (one-line error naming the flag)."""
    for flag, values in (("--batch", batches), ("--threads", threads), ("--repeats", (repeats,))):
        bad = [v for v in values if v < 1]
        if bad or not values:
            raise BnnError(f"{flag}: {bad[0] if bad else 'nothing'} given; it must be a whole number >= 1")


def measure_case(
    deployed: Deployed, batch: int, threads: int, repeats: int, backends: tuple[str, ...] = BACKENDS
) -> dict:
    """Median ms per backend at ``batch`` and ``threads``; the openvino-binary graph's BinaryConvolution
    census at this batch (``binary_convolutions``, and per W1/A1 layer in ``compiled``); the inference
    precision each backend ran in (``precision``)."""
    x = torch.randn(batch, *deployed.in_shape, generator=torch.Generator().manual_seed(0))
    prepared = {name: REGISTRY.get(name).prepare(deployed, x, x.numpy(), threads) for name in backends}
    with (
        torch_threads(threads),
        frozen_weights(deployed.model),
    ):  # torch-binary as in evaluation: weights binarized once
        latency = median_latency({name: ready.run for name, ready in prepared.items()}, repeats)
    binary = prepared.get(BINARY)
    binary_convolutions, compiled = binary.census if binary is not None else (None, None)
    return {
        "batch": batch,
        "threads": threads,
        "latency_ms": latency,
        "binary_convolutions": binary_convolutions,
        "compiled": compiled,
        "precision": {name: ready.precision for name, ready in prepared.items()},
    }


def speedup(latency: dict[str, float], reference: str) -> float | None:
    """``reference`` latency / openvino-binary latency (None without both)."""
    if reference not in latency or BINARY not in latency:
        return None
    return latency[reference] / latency[BINARY]


def measure_model(
    model: nn.Module,
    in_shape: tuple[int, ...],
    batch: int,
    threads: int,
    repeats: int,
    backends: tuple[str, ...] = SUMMARY_BACKENDS,
) -> dict:
    """Export ``model`` to a scratch folder and measure it: the JSON record of ``bnn summary --measure``."""
    check_backends(backends)
    check_settings((batch,), (threads,), repeats)
    with tempfile.TemporaryDirectory(prefix="bnn-measure-") as scratch:
        deployed = export_model(model, in_shape, scratch, scratch, threads, (batch,))
        case = measure_case(deployed, batch, threads, repeats, backends)
    counts = deployed.layer_counts()
    kernel = bool(case["binary_convolutions"])
    same_engine, pytorch = speedup(case["latency_ms"], SAME_ENGINE), speedup(case["latency_ms"], PYTORCH)
    return {
        "batch": batch,
        "threads": threads,
        "repeats": repeats,
        "in_shape": list(in_shape),
        "latency_ms": {k: round(v, 4) for k, v in case["latency_ms"].items()},
        "speedup_vs_openvino_float": round(same_engine, 3) if same_engine is not None and kernel else None,
        "speedup_vs_torch_float": None if pytorch is None else round(pytorch, 3),
        "precision": case["precision"],
        "binary_convolutions": case["binary_convolutions"],
        **counts,
        "binary_kernel": kernel,
        "note": deployed.note,
        **cpu_record(),
    }


def render(record: dict) -> str:
    """The text block ``bnn summary --measure`` prints after the summary table."""
    lines = [
        f"Latency (batch {record['batch']}, {record['threads']} threads, median of up to {record['repeats']} "
        f"calls, {', '.join(sorted(set(record['precision'].values()))) or 'f32'}):"
    ]
    width = max(len(name) for name in record["latency_ms"])
    for backend, ms in record["latency_ms"].items():
        extra = ""
        if backend == BINARY:
            extra = (
                f"  ({record['binary_convolutions']} BinaryConvolution nodes; {record['binary_layers_compiled']} "
                f"of {record['binary_layers']} W1/A1 layers on the binary kernel)"
            )
        lines.append(f"  {backend.ljust(width)}  {ms:10.3f} ms{extra}")
    if record["speedup_vs_openvino_float"] is not None:
        lines.append(
            f"Binary speed-up ({BINARY} over {SAME_ENGINE}, the same engine and graph with every layer real): "
            f"{record['speedup_vs_openvino_float']:.2f}x"
        )
    elif BINARY in record["latency_ms"]:
        lines.append(f"Binary speed-up: none ({BINARY} ran no binary kernel)")
    if record["speedup_vs_torch_float"] is not None:
        lines.append(
            f"{BINARY} over {PYTORCH} (another engine and binarization together): "
            f"{record['speedup_vs_torch_float']:.2f}x"
        )
    if record["weight_only_layers"]:
        lines.append(
            f"{record['weight_only_layers']} W1/A32 layers run as float convs with ±scale weights (no kernel gain)"
        )
    if record["binary_layers_compiled"] < record["binary_layers"]:
        lines.append(
            f"Not every W1/A1 layer ran on the binary kernel on this CPU ({record['cpu_model']}; flags: "
            f"{record['cpu_flags'] or 'none'}; OpenVINO: {record['openvino_capabilities']})"
        )
    if record["note"]:
        lines.append(record["note"])
    return "\n".join(lines)
