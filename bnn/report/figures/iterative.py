"""Iterative training (docs/methods.md §5.2): per dataset/model, validation top-1 per epoch of each iterative order
with a marker where one more layer's weights became binary (``binary_weight_layers`` grew), and the accuracy reached at
each number of binarized layers (last epoch with that many binary-weight layers)."""

from __future__ import annotations

from bnn.report.curves import draw_histories, line_style, method_colors, panel_pairs
from bnn.report.figures.learning_curves import metrics_files
from bnn.report.plotting import integer_ticks, legend_right, save
from bnn.report.registry import Figure, register_figure
from bnn.report.runs import History, histories


def inputs(plan) -> list[str] | None:
    """Experiments with a stage whose weights follow an order (docs/methods.md §5.2)."""
    return metrics_files(plan, lambda e, stages: any(s.spec.schedule.weights.kind == "iterative" for s in stages))


def order_name(run: History) -> str:
    order = run.specs[-1]["schedule"]["weights"]["order"]
    return f"{run.method} ({order})" if isinstance(order, str) else f"{run.method} {order}"


def draw(files: list[str], path: str) -> None:
    runs = histories(files)
    fig, rows = panel_pairs(runs)
    palette = method_colors(runs)
    for group, members, curve, per_count in rows:
        draw_histories(curve, members, palette)
        for run in members:
            m = run.metrics
            grew = m[m["binary_weight_layers"].diff().fillna(m["binary_weight_layers"]) > 0]
            curve.scatter(
                grew["step"],
                grew["val_acc"],
                color=palette[run.method],
                marker="v",
                s=45,
                edgecolors="black",
                linewidths=0.5,
                zorder=3,
            )
            reached = m.groupby("binary_weight_layers")["val_acc"].last()
            per_count.plot(
                reached.index,
                reached.values,
                color=palette[run.method],
                marker="o",
                label=order_name(run) if run.seed == members[0].seed else None,
                **line_style(run.method, members),
            )
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


register_figure(
    Figure(
        "iterative",
        "iterative orders: validation top-1 per epoch with the epochs a layer became "
        "binary, and top-1 per number of binary-weight layers",
        inputs,
        draw,
    )
)
