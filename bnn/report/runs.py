"""Per-epoch histories of experiments, read from their stages' run folders (README, "Result contract").

Each stage folder holds ``spec.yaml`` (its ``run`` identity, schedule and optimizer) and ``metrics.csv``
(one row per epoch, ``epoch`` counted from 0). An experiment's stages are joined on one axis: ``step``
counts epochs from 1 across the stages, in the order the files are given (the plan's stage order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from bnn.errors import BnnError


@dataclass
class History:
    """One experiment (dataset, model, method, seed): its joined metrics and where each stage ends."""

    dataset: str
    model: str
    method: str
    seed: int
    specs: list[dict] = field(default_factory=list)
    metrics: pd.DataFrame = field(default_factory=pd.DataFrame)
    boundaries: list[int] = field(default_factory=list)  # last step of every stage but the final one

    @property
    def group(self) -> str:
        return f"{self.dataset} / {self.model}"


def read_stage(metrics_file: str | Path) -> tuple[dict, pd.DataFrame]:
    folder = Path(metrics_file).parent
    if not (folder / "spec.yaml").is_file():
        raise BnnError(f"{metrics_file}: no spec.yaml beside it; give metrics.csv files of bnn train run folders")
    return yaml.safe_load((folder / "spec.yaml").read_text()), pd.read_csv(metrics_file)


def histories(metrics_files: list[str | Path]) -> list[History]:
    """Join the given stages' metrics.csv per experiment, in first-seen order."""
    joined: dict[tuple, History] = {}
    for path in metrics_files:
        spec, metrics = read_stage(path)
        run = spec["run"]
        key = (run["dataset"], run["model"], run["method"], int(run["seed"]))
        history = joined.setdefault(key, History(*key))
        offset = len(history.metrics)
        if offset:
            history.boundaries.append(offset)
        metrics = metrics.assign(step=metrics["epoch"] + 1 + offset, stage=run["stage"])
        history.metrics = pd.concat([history.metrics, metrics], ignore_index=True) if offset else metrics
        history.specs.append(spec)
    if not joined:
        raise BnnError("plot: no metrics.csv given; name the run folders' metrics.csv files")
    return list(joined.values())
