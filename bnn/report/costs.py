"""What a run cost: its stage jobs' Snakemake benchmark.tsv files -> wall_seconds and max_rss_mb.

``wall_seconds`` is the sum of the stage jobs' wall times (``s``), ``max_rss_mb`` the largest of their peak
resident memories (``max_rss``, MB; Snakemake writes ``-`` when a job was too short to measure). The
workflow passes the benchmark files of one experiment's stages to ``bnn evaluate``, which records the cost
in eval.json.
"""

from __future__ import annotations

import csv
from pathlib import Path

from bnn.errors import BnnError

COST_COLUMNS = ["wall_seconds", "max_rss_mb"]
UNMEASURED = ("-", "NA", "")


def read_benchmark(path: str | Path) -> tuple[float, float | None]:
    """(wall seconds, max RSS MB or None) of one Snakemake benchmark.tsv."""
    try:
        with open(path, newline="") as handle:
            row = next(csv.DictReader(handle, delimiter="\t"))
        rss = row["max_rss"]
        return float(row["s"]), None if rss in UNMEASURED else float(rss)
    except (OSError, KeyError, StopIteration, TypeError, ValueError) as error:
        raise BnnError(f"{path}: not a Snakemake benchmark file ({type(error).__name__}); re-run its stage") from None


def run_cost(benchmark_files: list[str | Path]) -> dict[str, float | None]:
    """The cost of one experiment from its stages' benchmark files; None for both without any file."""
    if not benchmark_files:
        return dict.fromkeys(COST_COLUMNS)
    walls, rss = zip(*(read_benchmark(path) for path in benchmark_files))
    measured = [value for value in rss if value is not None]
    return {"wall_seconds": round(sum(walls), 2), "max_rss_mb": round(max(measured), 2) if measured else None}
