"""Test top-1 per method from accuracy.csv: bars with error bars over seeds, full-precision runs as lines."""

from __future__ import annotations

import pandas as pd

from bnn import layout
from bnn.report.plotting import colors, save, subplots
from bnn.report.registry import Figure, register_figure

LINE_STYLES = ("--", ":", "-.")


def draw(files: list[str], path: str) -> None:
    """Test top-1 per method (bars, mean ± std over seeds) per dataset/model; full-precision (W32/A32) runs as
    dashed lines."""
    table = pd.read_csv(files[0])
    stats = (
        table.groupby(["dataset", "model", "method", "weight_bits", "act_bits"], sort=False)["top1"]
        .agg(["mean", "std", "count"])
        .reset_index()
    )
    groups = list(dict.fromkeys(zip(stats["dataset"], stats["model"])))
    real = (stats["weight_bits"] == 32) & (stats["act_bits"] == 32)
    teacher = stats[real]
    bars = stats[~real] if len(teacher) < len(stats) else stats
    methods = list(dict.fromkeys(bars["method"]))
    width = 0.8 / len(methods)
    fig, ax = subplots(max(7.0, 0.6 * len(groups) * len(methods) + 2), 5.0)
    palette = colors(methods)
    for m, method in enumerate(methods):
        sub = bars[bars["method"] == method]
        xs, ys, errs = [], [], []
        for g, (dataset, model) in enumerate(groups):
            row = sub[(sub["dataset"] == dataset) & (sub["model"] == model)]
            if len(row):
                xs.append(g - 0.4 + width * (m + 0.5))
                ys.append(row["mean"].iloc[0])
                errs.append(0.0 if pd.isna(row["std"].iloc[0]) else row["std"].iloc[0])
        bits = sub.iloc[0]
        label = f"{method} (W{bits['weight_bits']}/A{bits['act_bits']})"
        drawn = ax.bar(xs, ys, width, yerr=errs if any(errs) else None, capsize=3, label=label, color=palette[method])
        ax.bar_label(
            drawn,
            fmt="%.1f",
            fontsize=7,
            padding=2,
            rotation=90 if len(methods) > 6 else 0,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5},
            zorder=4,
        )
    if len(bars) < len(stats):
        for g, (dataset, model) in enumerate(groups):
            row = teacher[(teacher["dataset"] == dataset) & (teacher["model"] == model)]
            if len(row):
                for r, (_, line) in enumerate(row.iterrows()):
                    ax.hlines(
                        line["mean"],
                        g - 0.45,
                        g + 0.45,
                        colors="black",
                        linestyles=LINE_STYLES[r % 3],
                        linewidth=1.5,
                        label=f"{line['method']} (W32/A32)" if g == 0 else None,
                    )
    ax.set_xticks(range(len(groups)), [f"{d} / {m}" for d, m in groups])
    ax.set_xlabel("dataset / model")
    low = (stats["mean"] - stats["std"].fillna(0)).min()
    floor = max(0.0, 10.0 * (low // 10) - 10.0)
    ax.set_ylim(floor, 105)
    ax.set_ylabel("test top-1 accuracy (%)" + (f", axis from {floor:.0f}" if floor > 0 else ""))
    n_seeds = int(stats["count"].max())
    seeds = f"mean ± std over {n_seeds} seeds" if n_seeds > 1 else "single seed"
    ax.set_title(f"Test accuracy by method ({seeds})")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=min(4, len(methods) + 1), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    save(fig, path)


register_figure(
    Figure(
        "accuracy",
        "test top-1 per method (bars, error bars = std over seeds), full-precision (W32/A32) runs as dashed lines",
        lambda plan: [layout.table("accuracy")],
        draw,
    )
)
