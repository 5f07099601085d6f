"""The sensitivity table of a per-layer recipe (docs/methods.md §5.3): one row per layer, from its stage's files.

Columns: ``dataset, model, method, seed`` (the experiment, from the stages' spec.yaml), ``layer``
(1-based, among the layers the schedule controls), ``val_acc`` (final-epoch validation accuracy with only
that layer's weights binary; ascend/descend orders rank by it), ``best_val_acc``, ``epochs``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from bnn.errors import BnnError

IDENTITY = ["dataset", "model", "method", "seed"]
COLUMNS = [*IDENTITY, "layer", "val_acc", "best_val_acc", "epochs"]


def sensitivity_table(run_dirs: list[str | Path]) -> pd.DataFrame:
    rows = []
    for run_dir in map(Path, run_dirs):
        spec = yaml.safe_load((run_dir / "spec.yaml").read_text())
        weights = spec.get("schedule", {}).get("weights")
        if not (isinstance(weights, dict) and "only" in weights):
            raise BnnError(f"sensitivity: {run_dir} is not a per-layer stage (its schedule.weights is {weights!r})")
        metrics = pd.read_csv(run_dir / "metrics.csv")
        rows.append(
            {
                **{k: spec["run"][k] for k in IDENTITY},
                "layer": int(weights["only"]),
                "val_acc": float(metrics["val_acc"].iloc[-1]),
                "best_val_acc": float(metrics["val_acc"].max()),
                "epochs": len(metrics),
            }
        )
    table = pd.DataFrame(rows, columns=COLUMNS).sort_values("layer").reset_index(drop=True)
    if len(table[IDENTITY].drop_duplicates()) > 1:
        raise BnnError("sensitivity: the run folders belong to different experiments; give one experiment's layers")
    if table["layer"].tolist() != list(range(1, len(table) + 1)):
        raise BnnError(f"sensitivity: layers {table['layer'].tolist()} are not 1..{len(table)}; give every layer stage")
    return table
