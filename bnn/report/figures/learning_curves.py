"""Validation top-1 per epoch of every evaluated experiment, its stages joined on one axis with a dotted line where
a stage ends (two-step AdamBNN, docs/methods.md §4.3), one panel per dataset/model."""

from __future__ import annotations

from bnn.plan import layout
from bnn.report.curves import by_group, draw_histories, method_colors
from bnn.report.plotting import legend_right, panels, save
from bnn.report.registry import Figure, register_figure
from bnn.report.runs import histories


def metrics_files(plan, wanted) -> list[str] | None:
    """metrics.csv of every stage, in stage order, of the evaluated experiments ``wanted(experiment, stages)``
    selects; None when none is selected."""
    files = [
        stage.file(layout.METRICS)
        for e in plan.evaluated()
        if wanted(e, plan.experiment_stages(*e))
        for stage in plan.experiment_stages(*e)
    ]
    return files or None


def draw(files: list[str], path: str) -> None:
    runs = histories(files)
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


register_figure(
    Figure(
        "learning_curves",
        "validation top-1 per epoch of every experiment, its stages joined (dotted = stage end)",
        lambda plan: metrics_files(plan, lambda e, stages: True),
        draw,
    )
)
