"""accuracy.csv: every run's eval.json, one row per dataset x model x method x seed, in config order.

The cost columns (``wall_seconds``, ``max_rss_mb``: :mod:`bnn.report.costs`) are in each eval.json already;
``top1_low``/``top1_high`` are the 95 % Wilson interval of top-1 over the ``test_images`` (docs/results.md,
"Statistics").
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bnn.errors import BnnError
from bnn.report.costs import COST_COLUMNS
from bnn.report.registry import Table, register_table
from bnn.report.statistics import wilson

INTERVAL = ("top1_low", "top1_high")

COLUMNS = [
    "dataset",
    "model",
    "method",
    "seed",
    "weight_bits",
    "act_bits",
    "top1",
    "top1_low",
    "top1_high",
    "test_images",
    "top5",
    "test_loss",
    "epochs",
    "params",
    "binary_params",
    "binary_weight_layers",
    "binary_act_layers",
    "model_kib",
    "train_seconds",
    "compression",
    "macs",
    "bops",
    "arch",
    *COST_COLUMNS,
]


def build(eval_files: list[str]) -> pd.DataFrame:
    rows = []
    for path in eval_files:
        record = json.loads(Path(path).read_text())
        missing = [c for c in [*COLUMNS, "test_correct"] if c not in record and c not in INTERVAL]
        if missing:
            raise BnnError(f"{path}: missing {missing[0]}; re-run bnn evaluate for this run")
        interval = wilson(record["test_correct"], record["test_images"])
        record = {**record, "top1_low": round(interval.low, 4), "top1_high": round(interval.high, 4)}
        rows.append({c: record[c] for c in COLUMNS})
    if not rows:
        raise BnnError("table accuracy: no eval.json given; run the evaluate stage first")
    table = pd.DataFrame(rows, columns=COLUMNS)
    duplicated = table.duplicated(["dataset", "model", "method", "seed"])
    if duplicated.any():
        row = table[duplicated].iloc[0]
        raise BnnError(
            f"table accuracy: two eval.json for {row['dataset']}/{row['model']}/{row['method']}/seed{row['seed']}"
        )
    return table


register_table(
    Table(
        "accuracy",
        "one row per dataset x model x method x seed: test top-1 (%) with its 95 % Wilson interval, top-5, loss, "
        "W/A bits, "
        "parameter counts, packed size (KiB), training seconds, MACs/BOPs, architecture, run cost",
        lambda plan: plan.eval_files(),
        build,
    )
)
