"""A table as a standalone HTML page, for the Snakemake report (which shows HTML results but only offers CSV files
for download)."""

from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd

from bnn.io import write_text

STYLE = (
    "body{font-family:sans-serif;font-size:13px;margin:12px}table{border-collapse:collapse}"
    "th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#eee}"
    "td{white-space:nowrap}td:nth-child(-n+4){text-align:left}"
)


def render_html(table: pd.DataFrame, title: str) -> str:
    body = table.fillna(float("nan")).to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}", border=0)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title><style>{STYLE}</style>"
        f"</head><body><h3>{escape(title)}</h3>{body}</body></html>\n"
    )


def write_html(table: pd.DataFrame, path: str | Path, title: str) -> None:
    write_text(path, render_html(table, title))
