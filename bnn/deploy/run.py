"""``bnn deploy``: a trained checkpoint exported, verified on the test split, gated and timed, one folder per run.

Writes into ``out_dir``: ``model.onnx`` (plain ONNX), ``model.xml`` + ``model.bin`` (OpenVINO IR),
``inference.csv`` (bnn.deploy.rows: one row per backend x batch x threads) and ``deploy.json`` (the run,
each binarizable layer with its kind and whether it compiled to a BinaryConvolution, the verification,
the latency cases, the CPU). Everything is written into a staging folder that replaces ``out_dir`` only
when the deploy passed the agreement gate (bnn.deploy.verify) and was timed: a refused or failed deploy
leaves no folder that looks valid.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from bnn.config.sections import DeploySettings
from bnn.data import make_loader, read_meta
from bnn.deploy.artifacts import export_model
from bnn.deploy.cpu import cpu_record
from bnn.deploy.locate import first_wrong_layer
from bnn.deploy.measure import check_settings, measure_case
from bnn.deploy.rows import COLUMNS, case_rows
from bnn.deploy.verify import VERIFY_BATCH, gate, verify
from bnn.io import atomic_dir, write_csv, write_json
from bnn.train import checkpoint

DEFAULTS = DeploySettings()  # the config's deploy: defaults are bnn deploy's too (one place)


def default_threads() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def first_images(data_dir: str | Path, meta: dict) -> np.ndarray:
    """The first VERIFY_BATCH test images (where a refused deploy's first wrong layer is looked for)."""
    x, _ = next(iter(make_loader(data_dir, meta, "test", VERIFY_BATCH, torch.device("cpu"))))
    return x.numpy()


def deploy(
    checkpoint_path: str | Path,
    data_dir: str | Path,
    out_dir: str | Path,
    batches: tuple[int, ...] = DEFAULTS.batch,
    threads: tuple[int, ...] | None = None,
    repeats: int = DEFAULTS.repeats,
) -> list[dict]:
    """Export, verify and time a checkpoint (module docstring); returns the inference.csv rows."""
    threads = tuple(threads or (DEFAULTS.threads,))
    check_settings(tuple(batches), threads, repeats)
    ckpt = checkpoint.read(checkpoint_path)
    meta = read_meta(data_dir)
    checkpoint.check_data(ckpt, meta, checkpoint_path, "--checkpoint")
    model = checkpoint.rebuild(ckpt, checkpoint_path).eval()
    batches = tuple(sorted(set(batches)))
    with atomic_dir(out_dir, "--out-dir") as out, tempfile.TemporaryDirectory(prefix="bnn-deploy-") as scratch:
        in_shape = tuple(ckpt["in_shape"])
        deployed = export_model(model, in_shape, out, scratch, max(threads), tuple(sorted({1, *batches})))
        verification = verify(deployed, data_dir, meta, max(threads), batches)
        gate(verification, lambda batch: first_wrong_layer(deployed, first_images(data_dir, meta), batch, max(threads)))
        cases = [measure_case(deployed, batch, count, repeats) for batch in batches for count in threads]
        arch = ckpt["model"]["arch"]
        rows = [row for case in cases for row in case_rows(ckpt["run"], arch, deployed, verification, case)]
        write_csv(out / "inference.csv", rows, COLUMNS)
        layers = [
            {**asdict(record), "binary_convolution": deployed.compiled.get(record.name)} for record in deployed.records
        ]
        write_json(
            out / "deploy.json",
            {
                "run": ckpt["run"],
                "arch": arch,
                "in_shape": list(ckpt["in_shape"]),
                "layers": layers,
                **deployed.layer_counts(),
                "note": deployed.note,
                "verification": verification,
                "cases": cases,
                "cpu": cpu_record(),
                "files": ["model.onnx", "model.xml", "model.bin"],
            },
        )
    return rows
