"""Figures and tables as registries: adding one is one module (registering a :class:`Figure` or :class:`Table`)
plus its caption ``workflow/report/{figures,tables}/<name>.rst``. One generic Snakemake rule draws every figure
(``bnn figure NAME``) and one writes every table (``bnn table NAME``); ``inputs(plan)`` says which files a figure or
table reads, or None when the config has nothing for it (the figure is then not made); a table's ``settings(plan)``
are the config values it also needs (a JSON mapping on the command line: changing one rewrites the table)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from bnn.registry import Registry


@dataclass(frozen=True)
class Figure:
    name: str
    description: str  # one line for results/README.md
    inputs: Callable  # (plan) -> list[str] | None
    draw: Callable[[list[str], str], None]  # (input files, output PNG)


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    inputs: Callable  # (plan) -> list[str] | None
    build: Callable[..., pd.DataFrame]  # (input files, **settings) -> the table
    markdown: Callable[[pd.DataFrame], str] | None = None  # None: a plain Markdown rendering
    settings: Callable[[object], dict] | None = None  # (plan) -> build's keyword settings (bnn table --settings)


FIGURES: Registry[Figure] = Registry("figure")
TABLES: Registry[Table] = Registry("table")


def register_figure(figure: Figure) -> Figure:
    return FIGURES.register(figure.name)(figure)


def register_table(table: Table) -> Table:
    return TABLES.register(table.name)(table)
