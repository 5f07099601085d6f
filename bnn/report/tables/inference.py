"""inference.csv: every deployed run's rows (bnn deploy, :mod:`bnn.deploy.rows`), one per run x backend x batch x
threads: median latency, speed-up over torch-float, BinaryConvolution census, agreement with PyTorch, CPU flags."""

from __future__ import annotations

import pandas as pd

from bnn.report.registry import Table, register_table


def build(files: list[str]) -> pd.DataFrame:
    from bnn.deploy.rows import inference_table

    return inference_table(files)


register_table(
    Table(
        "inference",
        "one row per run x backend (torch-float, torch-binary, openvino-float, "
        "openvino-binary, onnxruntime) x batch: median latency (ms), speed-up over torch-float, "
        "BinaryConvolution nodes, agreement with PyTorch on the test split, the CPU's flags",
        lambda plan: plan.deploy_files() or None,
        build,
    )
)
