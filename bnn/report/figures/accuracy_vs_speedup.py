"""Test top-1 against the measured inference speed-up of openvino-binary over torch-float (bnn deploy), one point
per method, one panel per dataset/model (:func:`bnn.report.speedup.speedup_figure`)."""

from __future__ import annotations

import pandas as pd

from bnn.plan import layout
from bnn.report.registry import Figure, register_figure


def draw(files: list[str], path: str) -> None:
    from bnn.report.speedup import speedup_figure

    speedup_figure(pd.read_csv(files[0]), pd.read_csv(files[1]), path)


register_figure(
    Figure(
        "accuracy_vs_speedup",
        "test top-1 against the measured speed-up of openvino-binary (x86 "
        "binary kernels) over torch-float, one point per method",
        lambda plan: [layout.table("accuracy"), layout.table("inference")] if plan.deploy_files() else None,
        draw,
    )
)
