"""A forest plot of every method's difference in top-1 against its baseline (comparison.csv): one row per method,
the paired 95 % interval as whiskers, coloured by verdict, one panel per dataset/model/baseline (docs/results.md,
"Statistics")."""

from __future__ import annotations

import pandas as pd

from bnn.plan import layout
from bnn.report.plotting import marker_handle, panels, save
from bnn.report.registry import Figure, register_figure

VERDICT_COLORS = {"better": "tab:green", "worse": "tab:red", "no evidence": "0.45"}


def draw(files: list[str], path: str) -> None:
    """Per dataset/model/baseline: each method's top-1 minus the baseline's with its paired 95 % interval, a line
    at zero, the Holm-adjusted McNemar p-value at the right."""
    table = pd.read_csv(files[0])
    groups = list(dict.fromkeys(zip(table["dataset"], table["model"], table["baseline"])))
    if not groups:
        fig, axes = panels(1, 1, 6.0, 1.5)
        axes[0].text(0.5, 0.5, "no method was run beside a baseline", ha="center", va="center")
        axes[0].set_axis_off()
        save(fig, path)
        return
    rows = max(
        len(table[(table["dataset"] == d) & (table["model"] == m) & (table["baseline"] == b)]) for d, m, b in groups
    )
    fig, axes = panels(len(groups), 2, 6.5, 1.0 + 0.32 * rows)
    for ax, (dataset, model, baseline) in zip(axes, groups):
        group = table[(table["dataset"] == dataset) & (table["model"] == model) & (table["baseline"] == baseline)]
        group = group.reset_index(drop=True)
        for y, row in group.iterrows():
            ax.errorbar(
                row["delta"],
                y,
                xerr=[[row["delta"] - row["delta_low"]], [row["delta_high"] - row["delta"]]],
                fmt="s",
                color=VERDICT_COLORS[row["verdict"]],
                capsize=3,
                markersize=5,
            )
            ax.annotate(
                f"p={row['p_holm']:.2g}",
                (1.01, y),
                xycoords=("axes fraction", "data"),
                va="center",
                fontsize=7,
            )
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_yticks(range(len(group)), group["method"])
        ax.set_ylim(len(group) - 0.5, -0.5)
        ax.set_xlabel(f"top-1 minus {baseline} (points)")
        ax.set_title(f"{dataset} / {model}: vs {baseline}", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    handles = [marker_handle(color, "s", verdict) for verdict, color in VERDICT_COLORS.items()]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.1))
    fig.suptitle("Difference against the baseline, paired 95 % intervals (p: McNemar, Holm-adjusted)", fontsize=11)
    save(fig, path)


register_figure(
    Figure(
        "comparison",
        "forest plot: every method's top-1 minus its baseline's with the paired 95 % interval, coloured by "
        "verdict, Holm-adjusted McNemar p-values",
        lambda plan: [layout.table("comparison")] if plan.compared() else None,
        draw,
    )
)
