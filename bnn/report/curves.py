"""Drawing per-epoch histories of experiments (:mod:`bnn.report.runs`): panels per dataset/model, one line per
experiment, stage ends dotted. Used by the learning-curve, optimizer and iterative figures."""

from __future__ import annotations

from bnn.report.plotting import colors, integer_ticks, panels
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
        ax.plot(
            data["step"],
            data[column],
            color=palette[run.method],
            label=label,
            marker="o" if len(data) <= 12 else None,
            markersize=3,
            **line_style(run.method, runs),
        )
        for end in run.boundaries:
            ax.axvline(end + 0.5, color=palette[run.method], linestyle=":", linewidth=1.2)
    integer_ticks(ax.xaxis)


def legend_right(ax) -> None:
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
