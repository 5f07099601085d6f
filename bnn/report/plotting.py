"""What every figure shares: headless matplotlib, atomic PNG writes, colours, panels, tick and legend helpers.

matplotlib is imported on first use (:func:`pyplot`), so the workflow can import the figure registry (to plan which
figures to draw) without it.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

from bnn.io import atomic_path


@cache
def pyplot():
    """matplotlib.pyplot with the headless Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: str | Path) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png", bbox_inches="tight")
    pyplot().close(fig)


def colors(names: list[str]) -> dict[str, tuple]:
    """One stable colour per name (tab10, or tab20 beyond ten names)."""
    cmap = pyplot().get_cmap("tab10" if len(names) <= 10 else "tab20")
    return {name: cmap(i % cmap.N) for i, name in enumerate(names)}


def integer_ticks(axis) -> None:
    """Whole-number ticks (epochs, layer counts)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def panels(n: int, cols: int, width: float, height: float):
    """A figure holding ``n`` axes, ``cols`` per row (extra cells hidden); returns (fig, list of n axes)."""
    cols = min(cols, n)
    fig, axes = pyplot().subplots(
        math.ceil(n / cols), cols, figsize=(width * cols, height * math.ceil(n / cols)), squeeze=False
    )
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, list(axes.ravel()[:n])


def legend_right(ax) -> None:
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)


def subplots(width: float, height: float):
    return pyplot().subplots(figsize=(width, height))


def marker_handle(color, marker: str, label: str):
    """A legend entry: one marker of ``color``."""
    return pyplot().Line2D([], [], color=color, marker=marker, linestyle="", label=label)


def formatter(function):
    """A tick formatter calling ``function(value, position)``."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(function)
