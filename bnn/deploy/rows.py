"""The rows of a deploy (``inference.csv`` of a run) and their concatenation (``results/tables/inference.csv``).

One row per backend x batch x threads. Columns (``COLUMNS``):

* run identity: ``dataset``, ``model``, ``method``, ``seed`` (the checkpoint's ``run``) and ``arch``;
* ``backend`` (bnn.deploy.measure.BACKENDS), ``batch``, ``threads``, ``precision`` (the inference precision
  that ran), ``latency_ms`` (median per call);
* ``speedup_vs_openvino_float``: the binary speed-up, openvino-float latency / openvino-binary latency (the same
  engine, the same graph with every layer real), on openvino-binary rows whose graph ran a binary kernel,
  empty elsewhere; ``speedup_vs_torch_float``: torch-float latency / this row's latency (engine and
  binarization together), every row;
* layer counts: ``binary_layers`` (W1/A1), ``weight_only_layers`` (W1/A32: float convs with ±scale
  weights, no kernel gain), ``act_only_layers`` (W32/A1);
* OpenVINO census (openvino rows): ``binary_convolutions`` (BinaryConvolution nodes in the compiled
  graph), ``binary_layers_compiled`` (W1/A1 layers that are one), ``layers_compiled`` (``layer=yes|no;...``),
  ``binary_kernel`` (True when this row ran binary convolutions);
* verification on the test split (torch-binary, openvino-binary, onnxruntime rows): ``test_images``,
  ``top1``, ``agreement_pct``, ``max_logit_diff``, ``logit_diff_bulk``, ``sign_zero_inputs`` (bnn.deploy.verify;
  openvino-binary rows: at the row's batch); ``torch_top1`` (the checkpoint's accuracy, every row);
* ``engine`` (backend and version), ``cpu_model``, ``cpu_flags``, ``openvino_capabilities``, ``note``.

Every run's file has these columns, so the aggregate table is their concatenation.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bnn.deploy.artifacts import Deployed
from bnn.deploy.backends import ONNXRUNTIME, OPENVINO_BINARY, OPENVINO_FLOAT, REGISTRY, TORCH_BINARY, TORCH_FLOAT
from bnn.deploy.cpu import binary_kernel_expected, cpu_record
from bnn.deploy.openvino_graph import PRECISION
from bnn.deploy.verify import backend_record
from bnn.errors import BnnError

RUN_KEYS = ["dataset", "model", "method", "seed"]
COLUMNS = [
    *RUN_KEYS,
    "arch",
    "backend",
    "batch",
    "threads",
    "precision",
    "latency_ms",
    "speedup_vs_openvino_float",
    "speedup_vs_torch_float",
    "binary_layers",
    "weight_only_layers",
    "act_only_layers",
    "binary_convolutions",
    "binary_layers_compiled",
    "layers_compiled",
    "binary_kernel",
    "test_images",
    "top1",
    "torch_top1",
    "agreement_pct",
    "max_logit_diff",
    "logit_diff_bulk",
    "sign_zero_inputs",
    "engine",
    "cpu_model",
    "cpu_flags",
    "openvino_capabilities",
    "note",
]


def notes(backend: str, counts: dict, case: dict, deployed: Deployed, verification: dict) -> str:
    """What a reader must know about this row, in words ('' when nothing)."""
    parts = []
    if backend.endswith("float"):
        parts.append("float twin (every layer real): latency baseline, accuracy not measured")
    if backend == OPENVINO_BINARY and counts["binary_layers"]:
        done = sum(case["compiled"].values())
        if done < counts["binary_layers"]:
            why = "" if binary_kernel_expected() else " (no AVX2, or OpenVINO reports no BIN capability)"
            parts.append(
                f"{'no' if done == 0 else 'partial'} binary kernel: {done} of {counts['binary_layers']} "
                f"W1/A1 layers compiled to BinaryConvolution on this CPU{why}"
            )
        parts += [deployed.note] if deployed.note else []
    if backend == ONNXRUNTIME and counts["binary_layers"]:
        parts.append("W1/A1 layers run as float convs on 0/1 inputs (no binary kernel)")
    if counts["weight_only_layers"] and not backend.endswith("float"):
        parts.append(
            f"{counts['weight_only_layers']} W1/A32 layers run as float convs with ±scale weights (no kernel gain)"
        )
    default = verification["default_agreement"]
    if backend == OPENVINO_BINARY and default is not None:
        parts.append(
            f"a plain compile_model of model.xml runs {verification['default_precision']} on this CPU and agrees "
            f"with PyTorch on {default['agreement_pct']:.2f} % at batch 1; compile with INFERENCE_PRECISION_HINT "
            f"{PRECISION} (recorded in the IR) for the verified numerics"
        )
    return "; ".join(parts)


def case_rows(run: dict, arch: str, deployed: Deployed, verification: dict, case: dict) -> list[dict]:
    """The rows of one (batch, threads) case: one per measured backend."""
    counts = deployed.layer_counts()
    latency = case["latency_ms"]
    kernel = bool(case["binary_convolutions"])
    rows = []
    for backend, ms in latency.items():
        binary = backend == OPENVINO_BINARY
        checked = backend_record(verification, backend, case["batch"])
        rows.append(
            {
                **{key: run.get(key) for key in RUN_KEYS},
                "arch": arch,
                "backend": backend,
                "batch": case["batch"],
                "threads": case["threads"],
                "precision": case["precision"].get(backend, PRECISION),
                "latency_ms": round(ms, 4),
                "speedup_vs_openvino_float": round(latency[OPENVINO_FLOAT] / ms, 3)
                if binary and kernel and OPENVINO_FLOAT in latency
                else None,
                "speedup_vs_torch_float": round(latency[TORCH_FLOAT] / ms, 3) if TORCH_FLOAT in latency else None,
                **{key: counts[key] for key in ("binary_layers", "weight_only_layers", "act_only_layers")},
                "binary_convolutions": case["binary_convolutions"]
                if binary
                else 0
                if backend == OPENVINO_FLOAT
                else None,
                "binary_layers_compiled": sum(case["compiled"].values()) if binary else None,
                "layers_compiled": ";".join(f"{k}={'yes' if v else 'no'}" for k, v in case["compiled"].items())
                if binary
                else "",
                "binary_kernel": binary and kernel,
                "test_images": verification["test_images"] if checked else None,
                **{
                    key: checked[key] if checked else None
                    for key in ("top1", "agreement_pct", "max_logit_diff", "logit_diff_bulk")
                },
                "torch_top1": verification["cases"][TORCH_BINARY]["top1"],
                "sign_zero_inputs": verification["sign_zero_inputs"] if checked and backend != TORCH_BINARY else None,
                "engine": REGISTRY.get(backend).engine(),
                **cpu_record(),
                "note": notes(backend, counts, case, deployed, verification),
            }
        )
    return rows


def inference_table(paths: list[str | Path]) -> pd.DataFrame:
    """The concatenation of deploy ``inference.csv`` files; a file with other columns is a one-line error."""
    tables = []
    for path in paths:
        if not Path(path).is_file():
            raise BnnError(f"table inference: {path} does not exist; run bnn deploy for that run first")
        table = pd.read_csv(path)
        if list(table.columns) != COLUMNS:
            raise BnnError(f"table inference: {path} does not have the deploy columns; re-run bnn deploy for it")
        tables.append(table)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=COLUMNS)
