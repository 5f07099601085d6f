"""Figures from the result tables (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from bnn.io import atomic_path  # noqa: E402


def accuracy_bars(table: pd.DataFrame, path: str | Path) -> None:
    """Test top-1 per method (bars, mean ± std over seeds) for every dataset/model group."""
    stats = (table.groupby(["dataset", "model", "method", "weight_bits", "act_bits"], sort=False)["top1"]
             .agg(["mean", "std", "count"]).reset_index())
    groups = list(dict.fromkeys(zip(stats["dataset"], stats["model"])))
    methods = list(dict.fromkeys(stats["method"]))
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(max(7.0, 0.6 * len(groups) * len(methods) + 2), 5.0))
    colors = plt.get_cmap("tab10")
    for m, method in enumerate(methods):
        sub = stats[stats["method"] == method]
        xs, ys, errs = [], [], []
        for g, (dataset, model) in enumerate(groups):
            row = sub[(sub["dataset"] == dataset) & (sub["model"] == model)]
            if len(row):
                xs.append(g - 0.4 + width * (m + 0.5))
                ys.append(row["mean"].iloc[0])
                errs.append(0.0 if pd.isna(row["std"].iloc[0]) else row["std"].iloc[0])
        bits = sub.iloc[0]
        label = f"{method} (W{bits['weight_bits']}/A{bits['act_bits']})"
        bars = ax.bar(xs, ys, width, yerr=errs if any(errs) else None, capsize=3, label=label,
                      color=colors(m % 10))
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=2)
    ax.set_xticks(range(len(groups)), [f"{d} / {m}" for d, m in groups])
    ax.set_ylabel("test top-1 accuracy (%)")
    ax.set_xlabel("dataset / model")
    low = (stats["mean"] - stats["std"].fillna(0)).min()
    floor = max(0.0, 10.0 * (low // 10) - 10.0)
    ax.set_ylim(floor, 101)
    if floor > 0:
        ax.text(0.0, 1.01, f"y axis starts at {floor:.0f}%", transform=ax.transAxes, fontsize=7, color="0.4")
    n_seeds = int(stats["count"].max())
    seeds = f"mean ± std over {n_seeds} seeds" if n_seeds > 1 else "single seed"
    ax.set_title(f"Test accuracy by method ({seeds})")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=min(3, len(methods)),
              frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
