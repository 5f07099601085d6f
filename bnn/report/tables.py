"""Aggregate every run's eval.json into results/tables/accuracy.csv (one row per dataset x model x method x seed).

Rows keep the order of the files given (the workflow passes them in config order). The cost columns
(``wall_seconds``, ``max_rss_mb``: bnn.report.costs) are in each eval.json already.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bnn.errors import BnnError
from bnn.report.costs import COST_COLUMNS
from bnn.io import atomic_path

COLUMNS = ["dataset", "model", "method", "seed", "weight_bits", "act_bits", "top1", "top5", "test_loss",
           "epochs", "params", "binary_params", "binary_weight_layers", "binary_act_layers", "model_kib",
           "train_seconds", "compression", "macs", "bops", "arch", *COST_COLUMNS]
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
