"""Writing a registered table (:mod:`bnn.report.registry`): ``NAME.csv``, ``NAME.html`` (the Snakemake report shows
HTML and offers CSV for download) and ``NAME.md`` beside it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bnn.io import write_frame, write_text
from bnn.report.html import write_html
from bnn.report.registry import Table


def plain_markdown(frame: pd.DataFrame) -> str:
    """A Markdown table of every column, empty cells for missing values."""

    def cell(value) -> str:
        return "" if pd.isna(value) else f"{value:.4g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def write_table(table: Table, frame: pd.DataFrame, csv_path: str | Path) -> list[Path]:
    """Write ``frame`` as ``csv_path`` and the .html and .md beside it; returns the three paths."""
    csv_path = Path(csv_path)
    html, md = csv_path.with_suffix(".html"), csv_path.with_suffix(".md")
    write_frame(csv_path, frame)
    write_html(frame, html, f"{csv_path.name}: {table.description}")
    write_text(md, (table.markdown or plain_markdown)(frame))
    return [csv_path, html, md]
