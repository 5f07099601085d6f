"""What every figure shares: headless matplotlib, atomic PNG writes, colours, panels, tick and legend helpers."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from bnn.io import atomic_path  # noqa: E402


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


def legend_right(ax) -> None:
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)


def subplots(width: float, height: float):
    return plt.subplots(figsize=(width, height))


def marker_handle(color, marker: str, label: str):
    """A legend entry: one marker of ``color``."""
    return plt.Line2D([], [], color=color, marker=marker, linestyle="", label=label)
