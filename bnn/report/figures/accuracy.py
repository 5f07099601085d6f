"""Test top-1 per method as points with 95 % interval whiskers (summary.csv), each seed as a small dot
(accuracy.csv): one row per method, one panel per dataset/model (docs/results.md, "Statistics")."""

from __future__ import annotations

import pandas as pd

from bnn.plan import layout
from bnn.report.plotting import panels, save
from bnn.report.registry import Figure, register_figure

FULL_PRECISION, BINARY = "black", "tab:blue"


def draw(files: list[str], path: str) -> None:
    """Per dataset/model: each method's mean top-1 over seeds with its 95 % interval, full-precision (W32/A32)
    methods in black, every seed's top-1 as a grey dot."""
    runs, summary = (pd.read_csv(f) for f in files)
    groups = list(dict.fromkeys(zip(summary["dataset"], summary["model"])))
    rows = max(len(summary[(summary["dataset"] == d) & (summary["model"] == m)]) for d, m in groups)
    fig, axes = panels(len(groups), 2, 6.0, 0.9 + 0.32 * rows)
    for ax, (dataset, model) in zip(axes, groups):
        group = summary[(summary["dataset"] == dataset) & (summary["model"] == model)].reset_index(drop=True)
        for y, row in group.iterrows():
            real = row["weight_bits"] == 32 and row["act_bits"] == 32
            ax.errorbar(
                row["top1_mean"],
                y,
                xerr=[[row["top1_mean"] - row["top1_low"]], [row["top1_high"] - row["top1_mean"]]],
                fmt="o",
                color=FULL_PRECISION if real else BINARY,
                capsize=3,
                markersize=5,
                zorder=3,
            )
            seeds = runs[(runs["dataset"] == dataset) & (runs["model"] == model) & (runs["method"] == row["method"])]
            if len(seeds) > 1:
                ax.scatter(seeds["top1"], [y] * len(seeds), s=10, color="0.55", zorder=2)
        ax.set_yticks(
            range(len(group)), [f"{m} (W{w}/A{a})" for m, w, a in group[["method", "weight_bits", "act_bits"]].values]
        )
        ax.set_ylim(len(group) - 0.5, -0.5)
        ax.set_xlabel("test top-1 accuracy (%)")
        seeds = int(group["seeds"].max())
        ax.set_title(f"{dataset} / {model} ({seeds} seed{'s' if seeds > 1 else ''})", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("Test accuracy by method, 95 % intervals", fontsize=11)
    save(fig, path)


register_figure(
    Figure(
        "accuracy",
        "test top-1 per method as points with 95 % interval whiskers (dots: single seeds), one panel per dataset/model",
        lambda plan: [layout.table("accuracy"), layout.table("summary")],
        draw,
    )
)
