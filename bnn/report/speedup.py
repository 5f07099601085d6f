"""Measured speed-up of deployed BNNs (inference.csv, bnn.deploy.rows) next to their accuracy (accuracy.csv).

A run's binary speed-up is its ``openvino-float`` latency over its ``openvino-binary`` latency at the same
batch and thread count: one engine, the same graph with every layer real against the binary kernels, so
the ratio is what binarization buys (docs/deploy.md "Speed-ups"). A deploy that ran no binary kernel has
none. Beside it, ``torch-float`` over ``openvino-binary`` (PyTorch eager against OpenVINO: engine and
binarization together). ``speedup_table`` has one row per run x batch x threads; ``add_speedup`` adds per
batch ``binary_speedup_b<batch>`` and ``torch_speedup_b<batch>`` (median over seeds) and the lowest
``agreement_pct`` over seeds to the summary table; ``speedup_figure`` plots test top-1 against the binary
speed-up, one point per method, one panel per dataset/model.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bnn.deploy.backends import OPENVINO_BINARY as BINARY
from bnn.deploy.backends import OPENVINO_FLOAT
from bnn.errors import BnnError
from bnn.report.plotting import colors, formatter, marker_handle, panels, save

RUN = ["dataset", "model", "method", "seed"]
GROUP = ["dataset", "model", "method"]
RATIOS = {"binary_speedup": "speedup_vs_openvino_float", "torch_speedup": "speedup_vs_torch_float"}


def speedup_table(inference: pd.DataFrame) -> pd.DataFrame:
    """Per run x batch x threads (the openvino-binary rows): ``binary_speedup`` (openvino-float /
    openvino-binary, empty without a binary kernel), ``torch_speedup`` (torch-float / openvino-binary),
    ``agreement_pct`` and ``binary_kernel``."""
    missing = [
        c
        for c in [*RUN, "backend", "batch", "threads", *RATIOS.values(), "agreement_pct", "binary_kernel"]
        if c not in inference.columns
    ]
    if missing:
        raise BnnError(f"speed-up: inference.csv has no {missing[0]} column; re-run bnn deploy and bnn table inference")
    binary = inference[inference["backend"] == BINARY]
    table = binary.rename(columns={column: name for name, column in RATIOS.items()})
    return table[[*RUN, "batch", "threads", *RATIOS, "agreement_pct", "binary_kernel"]].reset_index(drop=True)


def add_speedup(summary: pd.DataFrame, inference: pd.DataFrame) -> pd.DataFrame:
    """``summary`` (one row per dataset x model x method) with ``binary_speedup_b<batch>`` and
    ``torch_speedup_b<batch>`` columns (median over seeds, at the largest thread count measured) and
    ``agreement_pct`` (lowest over seeds and batches)."""
    table = speedup_table(inference)
    table = table[table["threads"] == table["threads"].max()]
    columns = []
    for name in RATIOS:
        speed = table.pivot_table(index=GROUP, columns="batch", values=name, aggfunc="median", dropna=False)
        speed.columns = [f"{name}_b{int(batch)}" for batch in speed.columns]
        columns.append(speed)
    agreement = table.groupby(GROUP)["agreement_pct"].min()
    extra = pd.concat(columns, axis=1).join(agreement).reset_index()
    ratios = [c for frame in columns for c in frame.columns]
    return summary.merge(extra, on=GROUP, how="left").round({c: 3 for c in ratios})


def speedup_figure(
    accuracy: pd.DataFrame,
    inference: pd.DataFrame,
    out_path: str | Path,
    batch: int | None = None,
    threads: int | None = None,
) -> None:
    """Test top-1 (mean over seeds) against the measured binary speed-up (median over seeds, openvino-float /
    openvino-binary), one point per method, one panel per dataset/model; ``batch`` defaults to the smallest
    measured, ``threads`` to the largest. Runs without a binary kernel have no speed-up: they sit at 1x,
    hollow."""
    table = speedup_table(inference)
    table["speedup"] = table["binary_speedup"].fillna(1.0)
    batch = int(table["batch"].min()) if batch is None else batch
    threads = int(table["threads"].max()) if threads is None else threads
    table = table[(table["batch"] == batch) & (table["threads"] == threads)]
    if table.empty:
        raise BnnError(f"speed-up figure: inference.csv has no rows at batch {batch} and {threads} threads")
    points = (
        table.groupby(GROUP)
        .agg(speedup=("speedup", "median"), kernel=("binary_kernel", "all"))
        .join(accuracy.groupby(GROUP)["top1"].mean(), how="inner")
        .reset_index()
    )
    groups = list(dict.fromkeys(zip(points["dataset"], points["model"])))
    if not groups:
        raise BnnError("speed-up figure: no run is in both accuracy.csv and inference.csv")
    palette = colors(list(dict.fromkeys(points["method"])))
    fig, axes = panels(len(groups), 3, 5.0, 4.0)
    for ax, (dataset, model) in zip(axes, groups):
        for row in points[(points["dataset"] == dataset) & (points["model"] == model)].itertuples():
            ax.scatter(
                row.speedup,
                row.top1,
                s=50,
                linewidths=1.5,
                edgecolors=palette[row.method],
                facecolors=palette[row.method] if row.kernel else "none",
            )
        ax.axvline(1.0, color="0.5", linestyle=":", linewidth=1)
        if points["speedup"].max() > 10 * points["speedup"].min():
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(formatter(lambda value, _: ""))
        ax.xaxis.set_major_formatter(formatter(lambda value, _: f"{value:g}x"))
        ax.set_title(f"{dataset} / {model}", fontsize=10)
        ax.set_xlabel(f"binary speed-up: {OPENVINO_FLOAT} / {BINARY} (batch {batch}, {threads} threads)", fontsize=8)
        ax.set_ylabel("test top-1 accuracy (%)")
        ax.grid(alpha=0.3, which="both")
    handles = [marker_handle(color, "o", method) for method, color in palette.items()]
    fig.legend(handles=handles, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.suptitle("Accuracy vs measured binary speed-up, same engine (hollow at 1x: no binary kernel ran)", fontsize=11)
    save(fig, out_path)
