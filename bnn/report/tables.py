"""Aggregate every run's eval.json into results/tables/accuracy.csv (one row per dataset x model x method x seed).

Rows keep the order of the files given (the workflow passes them in config order). The cost columns come
from Snakemake's benchmark.tsv of each of the experiment's stages (``<experiment>/seed<N>/<stage>/``, the
same experiment folder as its eval.json): ``wall_seconds`` is the sum of the stages' wall times (``s``),
``max_rss_mb`` the largest of their peak resident memories (``max_rss``, MB).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bnn.errors import BnnError
from bnn.io import atomic_path

COLUMNS = ["dataset", "model", "method", "seed", "weight_bits", "act_bits", "top1", "top5", "test_loss",
           "epochs", "params", "binary_params", "binary_weight_layers", "binary_act_layers", "model_kib",
           "train_seconds", "compression", "macs", "bops", "arch"]
COST_COLUMNS = ["wall_seconds", "max_rss_mb"]


def experiment_of(path: str | Path) -> Path:
    """The experiment folder (``.../<method>/seed<N>``) of a file in one of its stage folders."""
    return Path(path).parent.parent


def read_benchmark(path: str | Path) -> tuple[float, float]:
    """(wall seconds, max RSS MB) of one Snakemake benchmark.tsv; RSS is NaN when too short to measure."""
    try:
        row = pd.read_csv(path, sep="\t", na_values=["-", "NA"]).iloc[0]
        return float(row["s"]), float(row["max_rss"])
    except (OSError, KeyError, IndexError, ValueError, pd.errors.ParserError) as error:
        raise BnnError(f"{path}: not a Snakemake benchmark file ({type(error).__name__}); re-run its stage") from None


def stage_costs(benchmark_files: list[str | Path]) -> pd.DataFrame:
    """One row per experiment folder: wall_seconds summed over its stages, max_rss_mb the maximum."""
    frame = pd.DataFrame([(experiment_of(path), *read_benchmark(path)) for path in benchmark_files],
                         columns=["experiment", *COST_COLUMNS])
    return frame.groupby("experiment", sort=False).agg(wall_seconds=("wall_seconds", "sum"),
                                                        max_rss_mb=("max_rss_mb", "max")).round(2)


def add_costs(table: pd.DataFrame, eval_files: list[str | Path], benchmark_files: list[str | Path]) -> pd.DataFrame:
    """``table`` (rows in ``eval_files`` order) with the cost columns of each row's experiment appended."""
    costs = stage_costs(benchmark_files)
    experiments = [experiment_of(path) for path in eval_files]
    unmatched = sorted(set(experiments) ^ set(costs.index))
    if unmatched:
        what = "no benchmark.tsv" if unmatched[0] in experiments else "no eval.json"
        raise BnnError(f"aggregate: {unmatched[0]} has {what}; pass every stage's benchmark.tsv and every final "
                       "stage's eval.json")
    return pd.concat([table, costs.loc[experiments].reset_index(drop=True)], axis=1)


def accuracy_table(eval_files: list[str | Path]) -> pd.DataFrame:
    rows = []
    for path in eval_files:
        record = json.loads(Path(path).read_text())
        missing = [c for c in COLUMNS if c not in record]
        if missing:
            raise BnnError(f"{path}: missing {missing[0]}; re-run bnn evaluate for this run")
        rows.append({c: record[c] for c in COLUMNS})
    if not rows:
        raise BnnError("aggregate: no eval.json given; run the evaluate stage first")
    table = pd.DataFrame(rows, columns=COLUMNS)
    duplicated = table.duplicated(["dataset", "model", "method", "seed"])
    if duplicated.any():
        row = table[duplicated].iloc[0]
        raise BnnError(f"aggregate: two eval.json for {row['dataset']}/{row['model']}/{row['method']}/seed{row['seed']}")
    return table


def write_table(table: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
