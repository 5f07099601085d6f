"""Sensitivity pre-training (docs/methods.md §5.3): validation top-1 when only layer k's weights are binary, per
layer k, from each ``sensitivity.csv`` (its identity columns name the experiment)."""

from __future__ import annotations

import pandas as pd

from bnn.report.plotting import colors, integer_ticks, panels, save
from bnn.report.registry import Figure, register_figure


def draw(files: list[str], path: str) -> None:
    """One panel per dataset/model, one line per sensitivity recipe and seed (identity from the table's columns)."""
    grouped: dict[str, list[tuple[str, pd.DataFrame]]] = {}
    for table in files:
        data = pd.read_csv(table)
        first = data.iloc[0]
        grouped.setdefault(f"{first['dataset']} / {first['model']}", []).append(
            (f"{first['method']} seed{first['seed']}", data)
        )
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


register_figure(
    Figure(
        "sensitivity",
        "validation top-1 with only layer k's weights binary, per layer k",
        lambda plan: plan.sensitivity_files() or None,
        draw,
    )
)
