"""Figures from accuracy.csv (matplotlib, headless), and the helpers every figure module shares.

``accuracy_bars``: test top-1 per method with error bars over seeds, the float teacher as a line.
``size_scatter``: test top-1 against packed model size (KiB) of every run.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from bnn.io import atomic_path  # noqa: E402

TEACHER = "float"


def save(fig, path: str | Path) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png", bbox_inches="tight")
    plt.close(fig)


def colors(names: list[str]) -> dict[str, tuple]:
    """One stable colour per name (tab10, or tab20 beyond ten names)."""
    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    return {name: cmap(i % cmap.N) for i, name in enumerate(names)}


def integer_ticks(axis) -> None:
    """Whole-number ticks (epochs, layer counts)."""
    axis.set_major_locator(MaxNLocator(integer=True))


def panels(n: int, cols: int, width: float, height: float):
    """A figure holding ``n`` axes, ``cols`` per row (extra cells hidden); returns (fig, list of n axes)."""
    cols = min(cols, n)
    fig, axes = plt.subplots(math.ceil(n / cols), cols, figsize=(width * cols, height * math.ceil(n / cols)),
                             squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, list(axes.ravel()[:n])


def accuracy_bars(table: pd.DataFrame, path: str | Path) -> None:
    """Test top-1 per method (bars, mean ± std over seeds) per dataset/model; the float teacher as a line."""
    stats = (table.groupby(["dataset", "model", "method", "weight_bits", "act_bits"], sort=False)["top1"]
             .agg(["mean", "std", "count"]).reset_index())
    groups = list(dict.fromkeys(zip(stats["dataset"], stats["model"])))
    teacher = stats[stats["method"] == TEACHER]
    bars = stats[stats["method"] != TEACHER] if len(teacher) < len(stats) else stats
    methods = list(dict.fromkeys(bars["method"]))
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(max(7.0, 0.6 * len(groups) * len(methods) + 2), 5.0))
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
        drawn = ax.bar(xs, ys, width, yerr=errs if any(errs) else None, capsize=3, label=label,
                       color=palette[method])
        ax.bar_label(drawn, fmt="%.1f", fontsize=7, padding=2, rotation=90 if len(methods) > 6 else 0,
                     bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5}, zorder=4)
    if len(bars) < len(stats):
        for g, (dataset, model) in enumerate(groups):
            row = teacher[(teacher["dataset"] == dataset) & (teacher["model"] == model)]
            if len(row):
                ax.hlines(row["mean"].iloc[0], g - 0.45, g + 0.45, colors="black", linestyles="--", linewidth=1.5,
                          label="float teacher (W32/A32)" if g == 0 else None)
    ax.set_xticks(range(len(groups)), [f"{d} / {m}" for d, m in groups])
    ax.set_xlabel("dataset / model")
    low = (stats["mean"] - stats["std"].fillna(0)).min()
    floor = max(0.0, 10.0 * (low // 10) - 10.0)
    ax.set_ylim(floor, 105)
    ax.set_ylabel("test top-1 accuracy (%)" + (f", axis from {floor:.0f}" if floor > 0 else ""))
    n_seeds = int(stats["count"].max())
    seeds = f"mean ± std over {n_seeds} seeds" if n_seeds > 1 else "single seed"
    ax.set_title(f"Test accuracy by method ({seeds})")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=min(4, len(methods) + 1),
              frameon=False)
    ax.grid(axis="y", alpha=0.3)
    save(fig, path)


def size_scatter(table: pd.DataFrame, path: str | Path) -> None:
    """Test top-1 against packed model size (KiB) of every run: colour = method, marker = dataset/model."""
    methods = list(dict.fromkeys(table["method"]))
    groups = list(dict.fromkeys(zip(table["dataset"], table["model"])))
    palette, markers = colors(methods), "osD^vP*Xh<>"
    fig, ax = plt.subplots(figsize=(8.0, 5.0))
    for g, (dataset, model) in enumerate(groups):
        for method in methods:
            rows = table[(table["dataset"] == dataset) & (table["model"] == model) & (table["method"] == method)]
            if len(rows):
                ax.scatter(rows["model_kib"], rows["top1"], color=palette[method], marker=markers[g % len(markers)],
                           s=40, edgecolors="black", linewidths=0.4)
    if table["model_kib"].max() > 10 * table["model_kib"].min():
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(  # label 2x and 5x between the decades, not every minor tick
            lambda value, _: f"{value:g}" if round(value / 10 ** math.floor(math.log10(value))) in (2, 5) else ""))
    handles = [plt.Line2D([], [], color=palette[m], marker="o", linestyle="", label=m) for m in methods]
    handles += [plt.Line2D([], [], color="0.3", marker=markers[g % len(markers)], linestyle="", label=f"{d} / {m}")
                for g, (d, m) in enumerate(groups)]
    ax.legend(handles=handles, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.set_xlabel("packed model size (KiB, 1 bit per binary weight)")
    ax.set_ylabel("test top-1 accuracy (%)")
    ax.set_title("Accuracy vs model size (every run)")
    ax.grid(alpha=0.3, which="both")
    save(fig, path)
