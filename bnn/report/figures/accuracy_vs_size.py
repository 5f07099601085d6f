"""Test top-1 against packed model size (KiB, 1 bit per binary weight) of every run, from accuracy.csv."""

from __future__ import annotations

import math

import pandas as pd

from bnn.plan import layout
from bnn.report.plotting import colors, formatter, marker_handle, save, subplots
from bnn.report.registry import Figure, register_figure


def draw(files: list[str], path: str) -> None:
    """Test top-1 against packed model size (KiB) of every run: colour = method, marker = dataset/model."""
    table = pd.read_csv(files[0])
    methods = list(dict.fromkeys(table["method"]))
    groups = list(dict.fromkeys(zip(table["dataset"], table["model"])))
    palette, markers = colors(methods), "osD^vP*Xh<>"
    fig, ax = subplots(8.0, 5.0)
    for g, (dataset, model) in enumerate(groups):
        for method in methods:
            rows = table[(table["dataset"] == dataset) & (table["model"] == model) & (table["method"] == method)]
            if len(rows):
                ax.scatter(
                    rows["model_kib"],
                    rows["top1"],
                    color=palette[method],
                    marker=markers[g % len(markers)],
                    s=40,
                    edgecolors="black",
                    linewidths=0.4,
                )
    if table["model_kib"].max() > 10 * table["model_kib"].min():
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(formatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(
            formatter(  # label 2x and 5x between the decades, not every minor tick
                lambda value, _: f"{value:g}" if round(value / 10 ** math.floor(math.log10(value))) in (2, 5) else ""
            )
        )
    handles = [marker_handle(palette[m], "o", m) for m in methods]
    handles += [marker_handle("0.3", markers[g % len(markers)], f"{d} / {m}") for g, (d, m) in enumerate(groups)]
    ax.legend(handles=handles, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.set_xlabel("packed model size (KiB, 1 bit per binary weight)")
    ax.set_ylabel("test top-1 accuracy (%)")
    ax.set_title("Accuracy vs model size (every run)")
    ax.grid(alpha=0.3, which="both")
    save(fig, path)


register_figure(
    Figure(
        "accuracy_vs_size",
        "test top-1 against packed model size (KiB) of every run",
        lambda plan: [layout.table("accuracy")],
        draw,
    )
)
