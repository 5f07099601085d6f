"""Per-epoch figures from run folders (:mod:`bnn.report.runs`): learning curves and optimizer behaviour.

``learning_curves``: validation top-1 per epoch of every experiment, its stages joined on one axis with a
dotted line where a stage ends (two-step AdamBNN, METHODS.md §4.3), one panel per dataset/model.
``optimizer_curves``: for each optimizer recipe (SGDAT study, METHODS.md §2.6) validation top-1 and the
flip ratio (fraction of binary weights whose sign changed in the epoch) per epoch.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bnn.report.figures import colors, integer_ticks, panels, save
from bnn.report.runs import History


def by_group(runs: list[History]) -> dict[str, list[History]]:
    grouped: dict[str, list[History]] = {}
    for run in runs:
        grouped.setdefault(run.group, []).append(run)
    return grouped


def method_colors(runs: list[History]) -> dict[str, tuple]:
    return colors(list(dict.fromkeys(r.method for r in runs)))


LINE_STYLES = (("-", 2.6), ("--", 2.0), (":", 2.4), ("-.", 1.3))


def line_style(method: str, runs: list[History]) -> dict:
    """A line style per method, cycling solid/dashed/dotted/dash-dot with shrinking widths, so curves
    that coincide exactly (two orders that pick the same layers) stay visible on top of each other."""
    methods = list(dict.fromkeys(r.method for r in runs))
    style, width = LINE_STYLES[methods.index(method) % len(LINE_STYLES)]
    return {"linestyle": style, "linewidth": width}


def panel_pairs(runs: list[History]):
    """A figure with one row of two panels per dataset/model: (fig, [(group, its runs, left, right)])."""
    grouped = by_group(runs)
    fig, axes = panels(2 * len(grouped), 2, 6.0, 4.0)
    return fig, [(group, members, axes[2 * i], axes[2 * i + 1]) for i, (group, members) in enumerate(grouped.items())]


def draw_histories(ax, runs: list[History], palette: dict, column: str = "val_acc") -> None:
    """One line per experiment (seeds share their method's colour and label), stage ends dotted."""
    labelled = set()
    for run in runs:
        data = run.metrics.dropna(subset=[column])
        label = None if run.method in labelled else run.method
        labelled.add(run.method)
        ax.plot(data["step"], data[column], color=palette[run.method], label=label,
                marker="o" if len(data) <= 12 else None, markersize=3, **line_style(run.method, runs))
        for end in run.boundaries:
            ax.axvline(end + 0.5, color=palette[run.method], linestyle=":", linewidth=1.2)
    integer_ticks(ax.xaxis)


def legend_right(ax) -> None:
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)


def learning_curves(runs: list[History], path: str | Path) -> None:
    grouped = by_group(runs)
    palette = method_colors(runs)
    fig, axes = panels(len(grouped), 1, 8.0, 4.0)
    for ax, (group, members) in zip(axes, grouped.items()):
        draw_histories(ax, members, palette)
        ax.set_title(f"{group}: validation accuracy per epoch")
        ax.set_xlabel("epoch (stages joined; dotted line = end of a stage)")
        ax.set_ylabel("val top-1 (%)")
        ax.grid(alpha=0.3)
        legend_right(ax)
    save(fig, path)


def optimizer_curves(runs: list[History], path: str | Path) -> None:
    fig, rows = panel_pairs(runs)
    palette = method_colors(runs)
    for group, members, acc, flips in rows:
        draw_histories(acc, members, palette)
        acc.set_title(f"{group}: validation accuracy")
        acc.set_ylabel("val top-1 (%)")
        draw_histories(flips, members, palette, "flip_ratio")
        flips.set_title(f"{group}: sign flips per epoch")
        flips.set_ylabel("flip ratio (fraction of binary weights)")
        ratios = pd.concat([r.metrics["flip_ratio"] for r in members]).dropna()
        if len(ratios) and (ratios > 0).all() and ratios.max() > 100 * ratios.min():
            flips.set_yscale("log")
        for ax in (acc, flips):
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
        legend_right(flips)
    save(fig, path)
