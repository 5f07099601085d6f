"""The optimizer study (docs/methods.md §2.6): for every experiment with a split binary/real optimizer, and the recipes
that name this figure in their ``figures`` (a baseline), validation top-1 and the flip ratio (fraction of binary
weights whose sign changed in the epoch) per epoch."""

from __future__ import annotations

import pandas as pd

from bnn.report.curves import draw_histories, method_colors, panel_pairs
from bnn.report.figures.learning_curves import metrics_files
from bnn.report.plotting import legend_right, save
from bnn.report.registry import Figure, register_figure
from bnn.report.runs import histories

NAME = "optimizers"


def inputs(plan) -> list[str] | None:
    """Split-optimizer experiments, plus the recipes listing this figure; None without a split optimizer."""

    def split(stages) -> bool:
        return any(stage.spec.optimizer.name == "split" for stage in stages)

    if metrics_files(plan, lambda e, stages: split(stages)) is None:
        return None
    return metrics_files(plan, lambda e, stages: split(stages) or NAME in plan.recipe(e).figures)


def draw(files: list[str], path: str) -> None:
    runs = histories(files)
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


register_figure(
    Figure(
        NAME, "optimizer recipes (and their baselines): validation top-1 and sign-flip ratio per epoch", inputs, draw
    )
)
