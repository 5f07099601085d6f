"""Which tables and figures a plan makes, and the files each reads: the report rules' inputs and ``rule all``."""

from __future__ import annotations

from bnn.plan import layout
from bnn.report import figures, tables  # noqa: F401  (register every figure and table)
from bnn.report.registry import FIGURES, TABLES

TABLE_SUFFIXES = ("csv", "html", "md")


def figure_inputs(plan, name: str) -> list[str]:
    return get_figure(name).inputs(plan) or []


def table_inputs(plan, name: str) -> list[str]:
    return get_table(name).inputs(plan) or []


def table_settings(plan, name: str) -> dict:
    settings = get_table(name).settings
    return settings(plan) if settings else {}


def figure_names(plan) -> list[str]:
    """The registered figures this config has data for."""
    return [name for name in FIGURES.names() if FIGURES.get(name).inputs(plan)]


def table_names(plan) -> list[str]:
    return [name for name in TABLES.names() if TABLES.get(name).inputs(plan)]


def report_files(plan) -> list[str]:
    """Every table (csv, html, md) and figure (png) of the plan."""
    return [layout.table(name, suffix) for name in table_names(plan) for suffix in TABLE_SUFFIXES] + [
        layout.figure(name) for name in figure_names(plan)
    ]


def get_figure(name: str):
    return FIGURES.get(name, "figure")


def get_table(name: str):
    return TABLES.get(name, "table")
