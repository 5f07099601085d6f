"""Layer-wise figures: iterative training orders (METHODS.md §5.2) and per-layer sensitivity (§5.3).

``iterative_figure``: per dataset/model, validation top-1 per epoch of each iterative order with a marker
where one more layer's weights became binary (``binary_weight_layers`` grew), and the accuracy reached at
each number of binarized layers (last epoch with that many binary-weight layers).
``sensitivity_figure``: validation top-1 when only layer k's weights are binary, per layer k, from each
``sensitivity.csv`` (its identity columns name the experiment).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bnn.report.curves import draw_histories, legend_right, line_style, method_colors, panel_pairs
from bnn.report.figures import colors, integer_ticks, panels, save
from bnn.report.runs import History


def order_name(run: History) -> str:
    order = run.specs[-1]["schedule"]["weights"]["order"]
    return f"{run.method} ({order})" if isinstance(order, str) else f"{run.method} {order}"


def iterative_figure(runs: list[History], path: str | Path) -> None:
    fig, rows = panel_pairs(runs)
    palette = method_colors(runs)
    for group, members, curve, per_count in rows:
        draw_histories(curve, members, palette)
        for run in members:
            m = run.metrics
            grew = m[m["binary_weight_layers"].diff().fillna(m["binary_weight_layers"]) > 0]
            curve.scatter(grew["step"], grew["val_acc"], color=palette[run.method], marker="v", s=45,
                          edgecolors="black", linewidths=0.5, zorder=3)
            reached = m.groupby("binary_weight_layers")["val_acc"].last()
            per_count.plot(reached.index, reached.values, color=palette[run.method], marker="o",
                           label=order_name(run) if run.seed == members[0].seed else None,
                           **line_style(run.method, members))
        curve.scatter([], [], color="0.5", marker="v", edgecolors="black", label="a layer became binary")
        curve.set_title(f"{group}: validation accuracy per epoch")
        curve.set_xlabel("epoch")
        curve.set_ylabel("val top-1 (%)")
        curve.legend(fontsize=7, loc="best")
        per_count.set_title(f"{group}: accuracy vs binarized layers")
        per_count.set_xlabel("number of layers with binary weights")
        per_count.set_ylabel("val top-1 at the last such epoch (%)")
        integer_ticks(per_count.xaxis)
        legend_right(per_count)
        for ax in (curve, per_count):
            ax.grid(alpha=0.3)
    save(fig, path)


def sensitivity_figure(tables: list[str | Path], path: str | Path) -> None:
    """One panel per dataset/model, one line per sensitivity recipe and seed (identity from the table's columns)."""
    grouped: dict[str, list[tuple[str, pd.DataFrame]]] = {}
    for table in map(Path, tables):
        data = pd.read_csv(table)
        first = data.iloc[0]
        grouped.setdefault(f"{first['dataset']} / {first['model']}", []).append(
            (f"{first['method']} seed{first['seed']}", data))
    palette = colors(list(dict.fromkeys(label for lines in grouped.values() for label, _ in lines)))
    fig, axes = panels(len(grouped), 2, 6.0, 4.0)
    for ax, (group, lines) in zip(axes, grouped.items()):
        for label, data in lines:
            ax.plot(data["layer"], data["val_acc"], color=palette[label], marker="o", label=label)
        ax.set_title(f"{group}: one layer binary at a time")
        ax.set_xlabel("layer k (the only layer with binary weights)")
        ax.set_ylabel("final val top-1 (%)")
        integer_ticks(ax.xaxis)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    save(fig, path)
